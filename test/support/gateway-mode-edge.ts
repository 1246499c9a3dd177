import { startBifrostStandin, type BifrostStandin } from './bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess } from './edge-process.js';
import { curl } from './proxy-clients.js';

/** A real Edge process in gateway mode before the Bifrost stand-in, and a way to POST JSON text through it. */
export interface GatewayModeEdge {
  standin: BifrostStandin;
  edge: EdgeProcess;
  /** POSTs `text` as JSON to `url` through Edge; says whether the gateway received anything (the stand-in is cleared first). */
  postJson(url: string, text: string): Promise<{ status: number; body: string; gatewayReached: boolean }>;
  close(): Promise<void>;
}

/** Edge's configuration is `config` (its `guardrails`, say) with the gateway set to the stand-in. */
export async function startGatewayModeEdge(virtualKey: string, config: Record<string, unknown> = {}): Promise<GatewayModeEdge> {
  const standin = await startBifrostStandin({ virtualKeys: [{ value: virtualKey, name: 'ada' }] });
  const edge = await startEdgeProcess({ config: { ...config, gateway: { url: standin.url, virtualKey } } }).catch(async (err: unknown) => {
    await standin.close();
    throw err;
  });
  return {
    standin,
    edge,
    postJson: async (url, text) => {
      standin.clear();
      const res = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, url, '-H', 'content-type: application/json', '--data-binary', text]);
      return { ...res, gatewayReached: standin.received.length > 0 };
    },
    close: async () => {
      await edge.stop();
      await standin.close();
    },
  };
}
