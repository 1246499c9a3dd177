import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { startEdgeBeforeOpenAiOrigin, type EdgeBeforeOpenAiOrigin } from '../support/edge-before-openai-origin.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { auditRecordsOf } from '../support/audit-tail.js';

/**
 * The Realtime WebRTC offer as OpenAI's WebRTC guide sends it (`POST /v1/realtime/calls`, a form with the SDP
 * offer and the session configuration as JSON text) through the real Edge CLI: the session's instructions meet
 * the default guardrails (a secret blocks, an email is redacted inside the session JSON, the SDP untouched),
 * its model meets the virtual key's model rules and the audit record; a plain `application/sdp` offer and a
 * clean form go out byte for byte.
 */

// Assembled at run time so the repository never holds a credential-shaped literal.
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const EMAIL = 'jane.doe@acme-corp.com';
const SDP = 'v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n';
const KEY = 'sk-bf-realtime-e2e-0001';

/** A form as the browser's FormData encodes it: the SDP offer and, when given, the session as JSON text. */
async function offerForm(session?: unknown): Promise<{ body: Buffer; contentType: string }> {
  const data = new FormData();
  data.set('sdp', SDP);
  if (session !== undefined) data.set('session', typeof session === 'string' ? session : JSON.stringify(session));
  const response = new Response(data);
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
}

async function post(edge: EdgeProcess, body: Buffer | string, contentType: string) {
  const res = await undiciFetch('https://api.openai.com/v1/realtime/calls', {
    method: 'POST', dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem), headers: { 'content-type': contentType, authorization: 'Bearer sk-test' }, body,
  });
  return { status: res.status, text: await res.text() };
}

describe('a Realtime call offer through Edge (local mode)', () => {
  let running: EdgeBeforeOpenAiOrigin;
  let edge: EdgeProcess;
  const received: Array<{ contentType: string; body: Buffer }> = [];

  beforeAll(async () => {
    running = await startEdgeBeforeOpenAiOrigin((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
        res.writeHead(201, { 'content-type': 'application/sdp', location: '/v1/realtime/calls/rtc_1' });
        res.end('v=0\r\n');
      });
    });
    edge = running.edge;
  });

  afterAll(() => running?.stop());

  it('a secret in the session instructions is blocked (446) and never reaches the provider', async () => {
    received.length = 0;
    const offer = await offerForm({ type: 'realtime', model: 'gpt-realtime', instructions: `Deploy with ${GITHUB_TOKEN}.` });
    const res = await post(edge, offer.body, offer.contentType);
    expect(res.status).toBe(446);
    expect(res.text).toContain('github');
    expect(received).toHaveLength(0);
  });

  it('an email in the session instructions is redacted in the session JSON; the SDP arrives byte for byte', async () => {
    received.length = 0;
    const session = { type: 'realtime', model: 'gpt-realtime', instructions: `Mail the summary to ${EMAIL}.`, tools: [{ type: 'function', name: 'weather' }] };
    const offer = await offerForm(session);
    const res = await post(edge, offer.body, offer.contentType);
    expect(res.status).toBe(201);
    expect(received).toHaveLength(1);
    expect(received[0]!.contentType).toBe(offer.contentType);
    expect(received[0]!.body.includes(EMAIL)).toBe(false);
    const sent = await new Response(received[0]!.body, { headers: { 'content-type': received[0]!.contentType } }).formData();
    expect(JSON.parse(sent.get('session') as string)).toEqual({ ...session, instructions: 'Mail the summary to [REDACTED:email].' });
    expect(sent.get('sdp')).toBe(SDP);
  });

  it('the audit record names the session\'s model', async () => {
    const offer = await offerForm({ type: 'realtime', model: 'gpt-realtime-mini', instructions: 'Be brief.' });
    expect((await post(edge, offer.body, offer.contentType)).status).toBe(201);
    const records = await auditRecordsOf<{ path?: string; model?: string | null; decision?: string }>(edge.dataDir);
    expect(records.at(-1)).toMatchObject({ path: '/v1/realtime/calls', model: 'gpt-realtime-mini', decision: 'allowed' });
  });

  it('a clean offer is forwarded exactly as the client sent it', async () => {
    received.length = 0;
    const offer = await offerForm({ type: 'realtime', model: 'gpt-realtime', instructions: 'Speak French.' });
    expect((await post(edge, offer.body, offer.contentType)).status).toBe(201);
    expect(received[0]!.body.equals(offer.body)).toBe(true);
  });

  it('a session field that is not JSON gets a 400 naming it and is not forwarded', async () => {
    received.length = 0;
    const offer = await offerForm('{"instructions": "unterminated');
    const res = await post(edge, offer.body, offer.contentType);
    expect(res.status).toBe(400);
    expect((JSON.parse(res.text) as { error: { message: string } }).error.message).toMatch(/The "session" field of the multipart\/form-data body of POST \/v1\/realtime\/calls .* is not valid JSON/);
    expect(received).toHaveLength(0);
  });

  it('a plain SDP offer (application/sdp) has nothing to read and goes out as it came', async () => {
    received.length = 0;
    const res = await post(edge, SDP, 'application/sdp');
    expect(res.status).toBe(201);
    expect(received[0]!.body.toString()).toBe(SDP);
  });
});

describe('a Realtime call offer under a virtual key\'s model rules (gateway mode)', () => {
  let standin: BifrostStandin;
  let edge: EdgeProcess;

  beforeAll(async () => {
    standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-realtime-calls-'));
    const policyFile = path.join(dataDir, 'policy.json');
    fs.writeFileSync(policyFile, JSON.stringify({
      schema: 'bifrost-edge.policy/v1',
      version: 1,
      issued_at: new Date().toISOString(),
      virtual_keys: [{ id: 'vk-voice', name: 'voice-team', value: KEY, is_active: true, provider_configs: [{ provider: 'openai', allowed_models: ['gpt-realtime-mini'] }] }],
    }));
    edge = await startEdgeProcess({ dataDir, config: { gateway: { url: standin.url }, policyFile } });
  });

  afterAll(async () => {
    await edge?.stop();
    await standin?.close();
  });

  it('a session model the key does not allow is refused (403 model_blocked) before the gateway', async () => {
    standin.clear();
    const offer = await offerForm({ type: 'realtime', model: 'gpt-realtime', instructions: 'Speak French.' });
    const res = await post(edge, offer.body, offer.contentType);
    expect(res.status).toBe(403);
    expect(res.text).toContain('model_blocked');
    expect(res.text).toContain('gpt-realtime');
    expect(standin.received).toHaveLength(0);
  });

  it('an allowed session model goes on to the gateway', async () => {
    standin.clear();
    const offer = await offerForm({ type: 'realtime', model: 'gpt-realtime-mini', instructions: 'Speak French.' });
    await post(edge, offer.body, offer.contentType);
    expect(standin.received.map((r) => r.path)).toEqual(['/openai/v1/realtime/calls']);
  });
});
