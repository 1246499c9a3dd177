import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { LARGEST_RECORD_ROW_BYTES } from '../../src/audit/largest-record.js';
import { auditRecordsOf, auditRowsOf } from '../support/audit-tail.js';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { closedPort } from '../support/ports.js';

/**
 * The audit queue at its cap, through the real agent: the smallest `audit.maxBytes` it accepts, filled
 * by records that keep their whole prompt, stands in for weeks of traffic. Every answered request must
 * have its record, and a queue that cannot take more records follows the policy's fail mode.
 */

const KEY = 'sk-bf-audit-queue-0001';
/** The smallest cap the agent accepts: the largest record it can write. */
const SMALL_CAP = LARGEST_RECORD_ROW_BYTES;
/** Each prompt, kept whole in its record (content_retention full): room for a handful of records. */
const PROMPT_FILLER = 'x'.repeat(Math.floor(SMALL_CAP / 8));

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function start(config: Record<string, unknown>, dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-audit-queue-'))): Promise<{ edge: EdgeProcess; standin: BifrostStandin; client: OpenAI }> {
  const standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
  cleanups.push(() => standin.close());
  const { audit, ...rest } = config;
  const edge = await startEdgeProcess({ dataDir, config: { ...rest, gateway: { url: standin.url, ...(config['policyFile'] ? {} : { virtualKey: KEY }) }, audit: { maxBytes: SMALL_CAP, ...(audit as object | undefined) } } });
  cleanups.push(() => edge.stop());
  const client = new OpenAI({ apiKey: 'sk-proj-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
  return { edge, standin, client };
}

interface TailedRecord { path?: string; decision: string; reason?: string }

/** A policy file with one key allowing every OpenAI model, the given fail mode, and whole prompts kept in the records. */
function writePolicy(dataDir: string, failMode: 'open' | 'closed'): string {
  const file = path.join(dataDir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(), fail_mode: failMode,
    content_retention: { mode: 'full', max_chars: 2 * PROMPT_FILLER.length },
    virtual_keys: [{ id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true, provider_configs: [{ provider: 'openai', allowed_models: ['*'] }] }],
  }));
  return file;
}


const ask = (client: OpenAI, n: number) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `question ${n} ${PROMPT_FILLER}` }] });

describe('the audit queue at its cap', () => {
  it('without Edge Control the outbox is a rolling log: old records make room, every new one is written', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-audit-queue-rolling-'));
    const { edge, client } = await start({ policyFile: writePolicy(dataDir, 'open') }, dataDir);
    const status = await (await fetch(new URL('/status.json', edge.proxyUrl))).json() as { auditQueue: { maxBytes: number } };
    expect(status.auditQueue.maxBytes).toBe(SMALL_CAP);
    for (let n = 0; n < 40; n++) await ask(client, n);
    const after = await (await fetch(new URL('/status.json', edge.proxyUrl))).json() as { auditQueue: { level: string; storedBytes: number; unsentRecords: number } };
    expect(after.auditQueue).toMatchObject({ level: 'ok', unsentRecords: 0 });
    expect(after.auditQueue.storedBytes).toBeLessThanOrEqual(SMALL_CAP);
    // Forty records were written (seq 1..40), the oldest pruned to make room: recording never stopped.
    const rows = (await auditRowsOf<TailedRecord>(edge.dataDir)).filter((r) => r.record.path === '/v1/chat/completions');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(40);
    expect(Math.max(...rows.map((r) => r.seq))).toBe(40);
  });

  it('failing closed: once unsent records fill the cap, AI requests are refused with a message that says why; every answered one was recorded', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-audit-queue-closed-'));
    const policyFile = writePolicy(dataDir, 'closed');
    // An OTLP collector that is down: its records stay unsent and fill the cap.
    const { client } = await start({ policyFile, audit: { otlpEndpoint: `http://127.0.0.1:${await closedPort()}` } }, dataDir);
    let answered = 0;
    let cutOff = 0;
    let refusal: InstanceType<typeof OpenAI.APIError> | undefined;
    for (let n = 0; n < 60 && refusal === undefined; n++) {
      try {
        await ask(client, n);
        answered++;
      } catch (err) {
        // The request whose record found the queue full was cut off rather than answered unrecorded;
        // from then on requests are refused before they are sent.
        if (err instanceof OpenAI.APIConnectionError) cutOff++;
        else refusal = err as InstanceType<typeof OpenAI.APIError>;
      }
    }
    expect(answered).toBeGreaterThan(2);
    expect(cutOff).toBeLessThanOrEqual(1);
    expect(refusal?.status).toBe(503);
    expect(refusal?.message).toMatch(/audit queue is full .* your policy says AI requests must stop until they can be recorded/);
    // Still refused: the queue does not drain while the collector is down.
    await expect(ask(client, 99)).rejects.toMatchObject({ status: 503 });
    const answeredRecords = (await auditRecordsOf<TailedRecord>(dataDir)).filter((r) => r.path === '/v1/chat/completions' && r.decision !== 'blocked');
    expect(answeredRecords).toHaveLength(answered);
  });

  it('failing open: requests are still answered once the queue is full, and a notice says they go unrecorded', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-audit-queue-open-'));
    const policyFile = writePolicy(dataDir, 'open');
    const { edge, client } = await start({ policyFile, audit: { otlpEndpoint: `http://127.0.0.1:${await closedPort()}` } }, dataDir);
    for (let n = 0; n < 40; n++) await ask(client, n);
    const status = await (await fetch(new URL('/status.json', edge.proxyUrl))).json() as { auditQueue: { level: string } };
    expect(status.auditQueue.level).toBe('full');
    const notices = await (await fetch(new URL('/notices.json', edge.proxyUrl))).json() as Array<{ kind: string; why: { message: string } }>;
    expect(notices).toContainEqual(expect.objectContaining({ kind: 'fail_open', why: expect.objectContaining({ message: expect.stringMatching(/audit queue is full; this request is answered without an audit record/) }) }));
  });
});
