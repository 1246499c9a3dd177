import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProtoMessage } from '../../src/providers/protobuf/schema-less-reader.js';
import { listTextFields } from '../../src/providers/protobuf/text-fields.js';
import { ALNUM, Fake, j } from '../guardrails/corpus/fake-data.js';
import { cursorChatRequest, decodeFlat, envelope, pb, splitEnvelopes } from '../providers/protobuf-support.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { startTestOrigin, type TestOrigin } from '../support/test-origin.js';
import { auditRecordsOf } from '../support/audit-tail.js';

/**
 * Cursor's Connect traffic through the real agent: `bifrost-edge run` decrypts api2.cursor.sh, whose
 * origin is a local HTTPS server speaking Connect; the client is undici through Edge's proxy, trusting
 * Edge's CA, sending what Cursor sends (`application/connect+proto` envelopes, gzip per message).
 */

const HOST = 'api2.cursor.sh';
const CHAT = '/aiserver.v1.ChatService/StreamUnifiedChatWithTools';
const EMAIL = 'ada.lovelace@analytical-engines.co.uk';
const githubToken = j('gh', 'p_', new Fake('cursor-e2e').str(ALNUM, 36));

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** The origin's streamed answer: one message, then a successful end-of-stream. */
const ANSWER = Buffer.concat([envelope(0, pb.message(2, pb.text(1, 'Hello from the origin'))), envelope(2, Buffer.from('{}'))]);

let origin: TestOrigin;
let edge: EdgeProcess;
let dataDir: string;
const seen: Seen[] = [];

beforeAll(async () => {
  origin = await startTestOrigin((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      const streaming = (req.headers['content-type'] ?? '').startsWith('application/connect+');
      res.writeHead(200, { 'content-type': streaming ? 'application/connect+proto' : 'application/proto' });
      res.end(streaming ? ANSWER : pb.text(1, 'unary answer'));
    });
  });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-cursor-'));
  edge = await startEdgeProcess({
    dataDir,
    config: { upstream: { originOverrides: { [HOST]: origin.url }, caFile: origin.caPath } },
  });
});

afterAll(async () => {
  await edge?.stop();
  await origin?.close();
});

async function send(body: Uint8Array, headers: Record<string, string>, procedure = CHAT): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const response = await undiciFetch(`https://${HOST}${procedure}`, {
    method: 'POST',
    headers: { 'connect-protocol-version': '1', 'user-agent': 'connect-es/1.6.1 Cursor/0.48.6', ...headers },
    body,
    dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem),
  });
  return { status: response.status, headers: response.headers as unknown as Headers, body: Buffer.from(await response.arrayBuffer()) };
}

const STREAMING = { 'content-type': 'application/connect+proto' };
const GZIP_STREAMING = { ...STREAMING, 'connect-content-encoding': 'gzip', 'connect-accept-encoding': 'gzip' };

const textsByPath = (message: Uint8Array) => Object.fromEntries(listTextFields(readProtoMessage(message)).map((t) => [t.path, t.text]));

describe('Cursor (Connect RPC, protobuf) through the real proxy', () => {
  it('blocks a streaming request carrying a GitHub token with a Connect end-of-stream error; the origin never sees it', async () => {
    const before = seen.length;
    const message = cursorChatRequest({ prompts: [`push with ${githubToken} please`], model: 'gpt-4o' });
    const answer = await send(envelope(0, message), STREAMING);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/connect+proto');
    expect(answer.headers.get('x-bifrost-edge-blocked')).toBe('guardrail_blocked');
    const [only, ...rest] = splitEnvelopes(answer.body);
    expect(rest).toEqual([]);
    expect(only!.flags).toBe(0x02);
    const endStream = JSON.parse(only!.payload.toString('utf8')) as { error: { code: string; message: string } };
    expect(endStream.error.code).toBe('permission_denied');
    expect(endStream.error.message).toMatch(/^Request blocked by an Edge guardrail: found secret \(github-pat\) in \["1\.1\.1"\]\./);
    expect(answer.body.toString('latin1')).not.toContain(githubToken);
    expect(seen.length).toBe(before);
  });

  it('blocks a unary request (gzip Content-Encoding) with a Connect JSON error', async () => {
    const before = seen.length;
    const body = zlib.gzipSync(pb.message(1, pb.text(1, `token ${githubToken}`)));
    const answer = await send(body, { 'content-type': 'application/proto', 'content-encoding': 'gzip' }, '/aiserver.v1.AiService/StreamChat');
    expect(answer.status).toBe(403);
    expect(answer.headers.get('content-type')).toBe('application/json');
    const error = JSON.parse(answer.body.toString('utf8')) as { code: string; message: string };
    expect(error).toEqual({ code: 'permission_denied', message: expect.stringMatching(/^Request blocked by an Edge guardrail: found secret \(github-pat\) in \["1\.1"\]/) });
    expect(error.message).not.toContain(githubToken);
    expect(seen.length).toBe(before);
  });

  it('redacts an email: the origin receives a valid protobuf with [REDACTED:email] and correct lengths', async () => {
    const message = cursorChatRequest({ prompts: ['What changed in the last release?', `Draft a reply to ${EMAIL} about it`], model: 'claude-3.5-sonnet' });
    const answer = await send(envelope(1, zlib.gzipSync(message)), GZIP_STREAMING);
    expect(answer.status).toBe(200);
    expect(answer.body.equals(ANSWER)).toBe(true);

    const received = seen.at(-1)!;
    expect(received.url).toBe(CHAT);
    expect(received.body.toString('latin1')).not.toContain(EMAIL);
    expect(received.headers['content-length']).toBe(String(received.body.length));
    // One envelope, re-encoded uncompressed, whose length prefix covers exactly the rest of the body.
    expect(received.body[0]).toBe(0x00);
    expect(received.body.readUInt32BE(1)).toBe(received.body.length - 5);
    const forwarded = received.body.subarray(5);
    expect(textsByPath(forwarded)).toEqual({ ...textsByPath(message), '1.1[1].1': 'Draft a reply to [REDACTED:email] about it' });
    // Each enclosing length checked by an independent decoder: request → conversation message → text.
    const conversation = decodeFlat(decodeFlat(forwarded)[0]!.payload!).filter((f) => f.field === 1);
    expect(decodeFlat(conversation[1]!.payload!)[0]!.payload!.toString('utf8')).toBe('Draft a reply to [REDACTED:email] about it');
  });

  it('redacts a unary request: the gzip body is re-encoded plain, without its Content-Encoding', async () => {
    const message = pb.message(1, pb.text(1, `cc ${EMAIL}`), pb.varint(2, 1));
    const answer = await send(zlib.gzipSync(message), { 'content-type': 'application/proto', 'content-encoding': 'gzip' }, '/aiserver.v1.AiService/StreamChat');
    expect(answer.status).toBe(200);
    const received = seen.at(-1)!;
    expect(received.headers['content-encoding']).toBeUndefined();
    expect(textsByPath(received.body)).toEqual({ '1.1': 'cc [REDACTED:email]' });
    expect(decodeFlat(decodeFlat(received.body)[0]!.payload!).map((f) => f.payload?.toString() ?? f.value)).toEqual(['cc [REDACTED:email]', 1n]);
  });

  it('passes a clean request byte for byte, compression and headers intact', async () => {
    const body = envelope(1, zlib.gzipSync(cursorChatRequest({ prompts: ['Explain this stack trace'], model: 'cursor-small' })));
    const answer = await send(body, GZIP_STREAMING);
    expect(answer.status).toBe(200);
    expect(answer.body.equals(ANSWER)).toBe(true);
    const received = seen.at(-1)!;
    expect(received.body.equals(Buffer.from(body))).toBe(true);
    expect(received.headers['connect-content-encoding']).toBe('gzip');
    expect(received.headers['content-type']).toBe('application/connect+proto');
  });

  it('flags a public IP address and forwards the request unchanged', async () => {
    const body = envelope(0, cursorChatRequest({ prompts: ['Why is server 8.8.4.4 so slow today?'], model: 'gpt-4o-mini' }));
    const answer = await send(body, STREAMING);
    expect(answer.status).toBe(200);
    expect(seen.at(-1)!.body.equals(Buffer.from(body))).toBe(true);
  });

  it('records the decisions and findings in the audit trail', async () => {
    const records = (await auditRecordsOf(dataDir, 100)).filter((r) => r['host'] === HOST);
    expect(records.every((r) => r['provider'] === 'cursor')).toBe(true);
    expect(records).toEqual(expect.arrayContaining([
      expect.objectContaining({
        path: CHAT, decision: 'blocked', reason: 'guardrail_blocked', status: 446, model: 'gpt-4o',
        findings: [{ type: 'secret', rule_id: 'github-pat', action: 'block', location: '1.1.1' }],
      }),
      expect.objectContaining({
        path: '/aiserver.v1.AiService/StreamChat', decision: 'blocked', reason: 'guardrail_blocked',
        findings: [{ type: 'secret', rule_id: 'github-pat', action: 'block', location: '1.1' }],
      }),
      expect.objectContaining({
        path: CHAT, decision: 'redacted', model: 'claude-3.5-sonnet',
        findings: [expect.objectContaining({ type: 'email', action: 'redact', location: '1.1[1].1' })],
      }),
      expect.objectContaining({ path: CHAT, decision: 'allowed', model: 'cursor-small', findings: [] }),
      expect.objectContaining({ path: CHAT, decision: 'flagged', model: 'gpt-4o-mini', findings: [expect.objectContaining({ action: 'flag', location: '1.1.1' })] }),
      expect.objectContaining({
        path: '/aiserver.v1.AiService/StreamChat', decision: 'redacted',
        findings: [expect.objectContaining({ type: 'email', action: 'redact', location: '1.1' })],
      }),
    ]));
    expect(JSON.stringify(records)).not.toContain(githubToken);
  });
});

