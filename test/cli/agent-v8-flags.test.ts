import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AGENT_V8_FLAGS } from '../../src/agent-v8-flags.js';

/** The headless agent's launchers start Node with the agent's V8 flags (src/agent-v8-flags.ts says why). */

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'bifrost-edge.js');

/** Allocates short-lived objects until the young generation has grown, and prints its size in MiB. */
const YOUNG_GENERATION_PROBE = `
const v8 = await import('node:v8');
const keep = [];
for (let i = 0; i < 3e6; i++) { keep.push({ a: i, b: 'x' + i }); if (keep.length > 300000) keep.splice(0, 150000); }
console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576);
`;

describe('the agent\'s V8 flags', () => {
  const shebang = fs.readFileSync(BIN, 'utf8').split('\n', 1)[0]!;

  it('bin/bifrost-edge.js names them in its shebang, which the kernel runs (env -S)', async () => {
    expect(shebang.startsWith('#!/usr/bin/env -S node ')).toBe(true);
    for (const flag of AGENT_V8_FLAGS) expect(shebang.split(' ')).toContain(flag);
    const { stdout } = await run(BIN, ['--version']);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('started as the shebang says, Node\'s young generation grows to twice the semi-space size named', async () => {
    const [envPath, ...args] = shebang.slice(2).split(' ');
    const started = await run(envPath!, [...args, '--input-type=module', '-e', YOUNG_GENERATION_PROBE]);
    const plain = await run(process.execPath, ['--input-type=module', '-e', YOUNG_GENERATION_PROBE]);
    const semiSpaceMiB = Number(/--max-semi-space-size=(\d+)/.exec(shebang)![1]);
    expect(Number(started.stdout.trim())).toBe(2 * semiSpaceMiB);
    // Node's default is smaller: the flag is what made the difference.
    expect(Number(plain.stdout.trim())).toBeLessThan(2 * semiSpaceMiB);
  });

  it('scripts/start.sh (npm start) and the benchmark start the agent with them too', () => {
    const start = fs.readFileSync(path.join(ROOT, 'scripts', 'start.sh'), 'utf8');
    expect(start).toContain(`exec node ${AGENT_V8_FLAGS.join(' ')} bin/bifrost-edge.js run`);
    expect(fs.readFileSync(path.join(ROOT, 'bench', 'run-bench.ts'), 'utf8')).toMatch(/process\.execPath, \[\.\.\.AGENT_V8_FLAGS, (\.\.\.profiling, )?path\.join\(root, 'bin', 'bifrost-edge\.js'\)/);
  });
});
