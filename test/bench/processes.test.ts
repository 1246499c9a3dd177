import { describe, expect, it } from 'vitest';
import { profilingArgs, startJsonLineProcess } from '../../bench/processes.js';

describe('startJsonLineProcess', () => {
  it('finds the ready line among V8 trace lines, and passes every other line on', async () => {
    const lines: string[] = [];
    // --trace-gc-nvp prints a line per collection to stdout, before and after the ready line.
    const script = `
      const churn = () => { let a = []; for (let i = 0; i < 300000; i++) a.push({ i }); return a.length; };
      churn();
      console.log(JSON.stringify({ port: 1234 }));
      churn();
      console.log('done');
      setInterval(() => {}, 1000);`;
    const started = await startJsonLineProcess<{ port: number }>(process.execPath, ['--trace-gc-nvp', '--max-semi-space-size=1', '-e', script], { onOtherLine: (line) => lines.push(line) });
    try {
      expect(started.info).toEqual({ port: 1234 });
      await expect.poll(() => lines.includes('done')).toBe(true);
      const gcLines = lines.filter((l) => /\bgc=s\b/.test(l));
      expect(gcLines.length).toBeGreaterThan(1);
    } finally {
      await started.stop();
    }
  });

  it('says so when the process exits before printing a JSON line', async () => {
    await expect(startJsonLineProcess(process.execPath, ['-e', 'console.log("not json"); console.error("bad config"); process.exit(3)'])).rejects.toThrow(/exited with 3; stderr:\n.*bad config/);
  });
});

describe('profilingArgs (BENCH_EDGE_NODE_ARGS)', () => {
  it('takes node options separated by spaces, none when unset or blank', () => {
    expect(profilingArgs(undefined)).toEqual([]);
    expect(profilingArgs('  ')).toEqual([]);
    expect(profilingArgs(' --cpu-prof  --cpu-prof-dir=/tmp/prof ')).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/prof']);
  });

  it('refuses anything that is not an option, naming it', () => {
    expect(() => profilingArgs('--trace-gc-nvp script.js')).toThrow(/node options only .*"script.js"/);
  });
});
