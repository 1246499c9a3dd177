import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeBeforeOpenAiOrigin, type EdgeBeforeOpenAiOrigin } from '../support/edge-before-openai-origin.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { imageEditAnswers } from '../support/image-edit-answers.js';
import { proxyDispatcher, tlsThroughProxy, undiciFetch } from '../support/proxy-clients.js';
import { spooledUploads } from '../support/spooled-uploads.js';
import { until } from '../support/until.js';

/**
 * The real Edge CLI whose disk fills while it spools an upload: the kernel refuses its writes past 4 MiB
 * (a file size limit set on the running process with prlimit, as a full disk refuses them with ENOSPC).
 * The client is answered 507 at once, the rest of its body is dropped, no partial file stays, Edge serves on.
 */

const MiB = 1024 * 1024;
const origin = imageEditAnswers();
let running: EdgeBeforeOpenAiOrigin | undefined;
let edge: EdgeProcess;

beforeAll(async () => {
  running = await startEdgeBeforeOpenAiOrigin(origin.handler);
  edge = running.edge;
  execFileSync('prlimit', ['--pid', String(edge.child.pid), `--fsize=${4 * MiB}`]);
}, 60_000);

afterAll(() => running?.stop());

const spoolFiles = () => spooledUploads(edge.dataDir);

describe('a disk that fills while an upload is spooled', () => {
  it('answers 507 at once, drops the rest of the body, leaves no file, and serves the next upload', async () => {
    const { socket } = await tlsThroughProxy(edge.proxyUrl, 'api.openai.com', 443, { ca: edge.caPem });
    socket.on('error', () => {});
    const total = 40 * MiB;
    const head = Buffer.from('--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na hat\r\n--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n');
    const tail = Buffer.from('\r\n--b--\r\n');
    socket.write(`POST /v1/images/edits HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer sk-test\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${head.length + total + tail.length}\r\n\r\n`);
    socket.write(head);
    let answer = '';
    const answered = new Promise<string>((resolve) => {
      socket.on('data', (d: Buffer) => {
        answer += d.toString('latin1');
        if (answer.includes('}')) resolve(answer);
      });
    });
    // Sent as fast as Edge takes it; the answer comes while the body is still being sent.
    const piece = Buffer.alloc(256 * 1024, 7);
    let sent = 0;
    let early = false;
    void answered.then(() => { early = sent < total; });
    while (sent < total) {
      if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve));
      sent += piece.length;
    }
    socket.write(tail);
    const text = await Promise.race([answered, new Promise<string>((resolve) => setTimeout(() => resolve(`no answer: ${answer}`), 10_000))]);
    socket.destroy();
    expect(text).toMatch(/^HTTP\/1\.1 507 /);
    expect(text).toContain('Free some disk space');
    expect(early).toBe(true);
    // Removed when the exchange ends, which comes just after the answer is written.
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
    expect(origin.requests()).toBe(0);

    // Under the limit, the next upload is spooled and forwarded.
    const small = Buffer.concat([head, Buffer.alloc(2 * MiB, 1), tail]);
    const res = await undiciFetch('https://api.openai.com/v1/images/edits', {
      method: 'POST', dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem), headers: { 'content-type': 'multipart/form-data; boundary=b', authorization: 'Bearer sk-test' }, body: small,
    });
    expect(res.status).toBe(200);
    expect(origin.requests()).toBe(1);
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
  });
});
