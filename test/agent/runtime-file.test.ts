import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeRuntimeFile, writeRuntimeFile } from '../../src/runtime-file.js';

describe('runtime.json on the way out', () => {
  it('is removed only when it names this process, never another agent\'s', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-runtime-file-'));
    const file = path.join(dataDir, 'runtime.json');
    writeRuntimeFile(dataDir, { pid: process.pid + 1, proxy: 'http://127.0.0.1:1', ca: '/ca.pem', startedAt: new Date().toISOString() });
    removeRuntimeFile(dataDir);
    expect(fs.existsSync(file)).toBe(true);
    writeRuntimeFile(dataDir, { pid: process.pid, proxy: 'http://127.0.0.1:1', ca: '/ca.pem', startedAt: new Date().toISOString() });
    removeRuntimeFile(dataDir);
    expect(fs.existsSync(file)).toBe(false);
  });
});
