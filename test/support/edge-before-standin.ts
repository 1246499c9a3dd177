import { startBifrostStandin, type BifrostStandin } from './bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess, type StartEdgeOptions } from './edge-process.js';

/** What a test does with Edge and the stand-in it sends to. */
export type EdgeBeforeStandinRun = (env: { edge: EdgeProcess; standin: BifrostStandin }) => Promise<void>;

/**
 * The real Edge CLI before a Bifrost stand-in that holds `virtualKey`, Edge started with `edgeOptions(standin)`; both
 * are stopped when `run` ends, passed or failed.
 */
export async function withEdgeBeforeStandin(
  virtualKey: string,
  edgeOptions: (standin: BifrostStandin) => StartEdgeOptions,
  run: EdgeBeforeStandinRun,
): Promise<void> {
  const standin = await startBifrostStandin({ virtualKeys: [{ value: virtualKey }] });
  try {
    const edge = await startEdgeProcess(edgeOptions(standin));
    try {
      await run({ edge, standin });
    } finally {
      await edge.stop();
    }
  } finally {
    await standin.close();
  }
}
