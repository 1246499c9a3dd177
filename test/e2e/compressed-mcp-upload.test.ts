import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { until } from '../support/until.js';
import { startMcpGoverningEdge } from '../mcp/support.js';
import { spoolableFormBoundary } from '../../src/proxy/form-upload.js';

/**
 * A large compressed body to a governed MCP host, whose Content-Type is a form but also says `json` (an MCP server
 * testing `includes("application/json")` reads it as JSON), through the real Edge CLI: it is spooled as a form and
 * read decoded. A tools/call in it is judged against the policy; a body that holds no MCP message is the host's other
 * traffic, read whole from the spool, decoded to be judged (compressed bytes are not UTF-8, which is refused) and
 * forwarded as it came, compressed, with its Content-Encoding, even where it holds `\r\n--boundary` not followed by a
 * boundary line's end (it is no form, so its broken framing is not refused). Bytes after the end of its compressed
 * data are refused.
 */
const HOST = 'mcp-compressed.example.test';
const MiB = 1024 * 1024;
// Quoted: unquoted, `application/json` is no valid boundary (a `/` in a token), and the body would be read in memory.
const FORM_BUT_JSON = 'multipart/form-data; boundary="application/json"';

let origin: http.Server;
let edge: EdgeProcess;
let received: Array<{ headers: http.IncomingHttpHeaders; body: Buffer }> = [];

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  edge = await startMcpGoverningEdge({ host: HOST, origin: `http://127.0.0.1:${(origin.address() as AddressInfo).port}`, tools: ['search'], dataDirPrefix: 'edge-mcp-compressed-' });
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

beforeEach(() => {
  received = [];
});

const spoolFiles = () => {
  const dir = path.join(edge.dataDir, 'uploads');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.startsWith('bifrost-edge-upload-')) : [];
};

async function post(body: Buffer, coding: string): Promise<{ status: number; text: string }> {
  const res = await undiciFetch(`https://${HOST}/mcp`, {
    method: 'POST', dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem),
    headers: { 'content-type': FORM_BUT_JSON, 'content-encoding': coding }, body,
  });
  return { status: res.status, text: await res.text() };
}

/**
 * A tools/call of `tool` whose argument makes it 1.5 MiB decoded: past the 1 MiB an upload is held in memory, under
 * the 2 MiB of text the guardrails inspect.
 */
const toolCall = (tool: string) => Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: { q: 'x'.repeat(1.5 * MiB) } } }));

describe('a compressed body to an MCP host that is a form only by its Content-Type', () => {
  it('has a Content-Type Edge spools as a form', () => {
    expect(spoolableFormBoundary({ 'content-type': FORM_BUT_JSON, 'content-encoding': 'gzip' })).toBe('application/json');
  });

  it('a tools/call of a tool the policy does not allow, gzip-compressed, is decoded, judged and refused', async () => {
    const res = await post(zlib.gzipSync(toolCall('exfil')), 'gzip');
    // MCP's refusal: a JSON-RPC error for the call, naming the tool.
    const answer = JSON.parse(res.text) as { id?: number; error?: { message: string; data?: { type?: string } } };
    expect(answer.id).toBe(1);
    expect(answer.error?.data?.type).toBe('mcp_tool_blocked');
    expect(answer.error?.message).toContain("the MCP tool 'exfil'");
    expect(received).toHaveLength(0);
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
  });

  it('a tools/call of an allowed tool, br-compressed, reaches the origin as the compressed bytes sent', async () => {
    const body = zlib.brotliCompressSync(toolCall('search'));
    const res = await post(body, 'br');
    expect(res.status).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['content-encoding']).toBe('br');
    expect(received[0]!.body.equals(body)).toBe(true);
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
  });

  it('text that is no MCP message, gzip-compressed, is the host\'s other traffic: forwarded as it came', async () => {
    const body = zlib.gzipSync(Buffer.from('not a message, '.repeat(150_000)));
    const res = await post(body, 'gzip');
    expect(res.status).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['content-encoding']).toBe('gzip');
    expect(received[0]!.body.equals(body)).toBe(true);
  });

  it('a call hidden after the end of the compressed data (zero padding, another gzip member) is refused (400)', async () => {
    const body = Buffer.concat([zlib.gzipSync(toolCall('search')), Buffer.alloc(4), zlib.gzipSync(toolCall('exfil'))]);
    const res = await post(body, 'gzip');
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/after the end of its gzip data/);
    expect(received).toHaveLength(0);
  });
});

describe('the host\'s other traffic holding the boundary after CR LF, then no boundary line\'s end', () => {
  /** Text around `\r\n--application/jsonX`: as a form, its second boundary line goes on after the boundary. */
  const brokenAsForm = (repeats: number) => Buffer.from(`${'not a message, '.repeat(repeats)}\r\n--application/jsonX${'not a message, '.repeat(repeats)}`);
  for (const coding of ['identity', 'gzip']) {
    for (const [size, repeats] of [['held in memory', 20_000], ['spooled', 50_000]] as const) {
      it(`${size} (Content-Encoding: ${coding}): forwarded as it came, not refused as a malformed form`, async () => {
        const body = coding === 'gzip' ? zlib.gzipSync(brokenAsForm(repeats)) : brokenAsForm(repeats);
        const res = await post(body, coding);
        expect(res.status).toBe(200);
        expect(received).toHaveLength(1);
        expect(received[0]!.body.equals(body)).toBe(true);
        expect(await until(() => spoolFiles().length === 0)).toBe(true);
      });
    }
  }
});
