import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EDGE_BIN } from '../support/edge-process.js';
import { writeDamagedAuditDb } from '../audit/support/damaged-database.js';

/** Runs `bifrost-edge run` on `dataDir` and waits for it to exit (killed after 20 s if it starts instead). */
async function runEdge(dataDir: string): Promise<{ code: number | null; stderr: string }> {
  const configFile = path.join(dataDir, 'edge-config.json');
  fs.writeFileSync(configFile, JSON.stringify({ metrics: { port: null } }));
  const child = spawn(process.execPath, [EDGE_BIN, 'run', '--config', configFile, '--data-dir', dataDir, '--port', '0', '--mode', 'local'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(killer);
  return { code, stderr };
}

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * SQLite's own message ("database disk image is malformed", "unable to open database file") names
 * neither the file nor a way out; the agent's refusal to start must do both.
 */
describe('bifrost-edge run on a database it cannot use', () => {
  it('a damaged audit.db: names the file, says to move it aside and keep it, and leaves it untouched', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-damaged-audit-'));
    const auditDb = path.join(dataDir, 'audit.db');
    await writeDamagedAuditDb(auditDb);
    const before = sha256(auditDb);

    const { code, stderr } = await runEdge(dataDir);
    expect(code).toBe(1);
    const message = stderr.trim().split('\n').at(-1) ?? '';
    expect(message).toContain(`bifrost-edge: the audit database ${auditDb} is damaged (database disk image is malformed)`);
    expect(message).toContain(`Stop Edge, move ${auditDb} and the audit.db-wal and audit.db-shm files beside it (if any) to another folder`);
    expect(message).toContain('the audit records in them are evidence');
    expect(message).toContain('Then start Edge again: it creates a new audit database.');
    // Evidence is never replaced or moved by Edge itself.
    expect(sha256(auditDb)).toBe(before);
    expect(fs.readdirSync(dataDir).filter((f) => f.startsWith('audit.db') && !/^audit\.db(-wal|-shm)?$/.test(f))).toEqual([]);
  });

  it.each([['audit'], ['policy']])('%s.db that cannot be opened: names the file and what to check', async (database) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `edge-unopenable-${database}-`));
    fs.mkdirSync(path.join(dataDir, `${database}.db`));
    const { code, stderr } = await runEdge(dataDir);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n').at(-1)).toContain(`bifrost-edge: could not open the ${database} database ${path.join(dataDir, `${database}.db`)} (unable to open database file)`);
  });
});
