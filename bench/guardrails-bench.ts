/**
 * Guardrail scan throughput on realistic prompts of 1 KB, 64 KB and 1 MB (default policy: every credential
 * rule, every PII detector). Also reports how much the keyword prefilter saves at each size: the same scan
 * with the prefilter off, divided by the scan with it on.
 *
 * The prompts mix what people send AI tools: prose, code, config, JSON tool results, logs, a few e-mail
 * addresses and phone numbers, and now and then a (fake, assembled-at-runtime) credential.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { applyGuardrails } from '../src/guardrails/apply-guardrails.js';
import { compileGuardrailPolicy, type CompiledGuardrailPolicy } from '../src/guardrails/compile-policy.js';
import { scanText } from '../src/guardrails/scan-text.js';
import type { TextSpan } from '../src/providers/types.js';

export interface GuardrailBenchResult {
  size: '1KB' | '64KB' | '1MB';
  mbPerSec: number;
  prefilterSpeedup?: number;
}

const SIZES: Array<[GuardrailBenchResult['size'], number]> = [
  ['1KB', 1024],
  ['64KB', 64 * 1024],
  ['1MB', 1024 * 1024],
];

/** Enough repetitions for a stable number without making `npm run bench` slow on a 2-core machine. */
const MIN_SAMPLE_MS = 300;
const MAX_RUNS = 2000;

export async function benchGuardrailScan(): Promise<GuardrailBenchResult[]> {
  const compiled = compileGuardrailPolicy({});
  if (!compiled.ok) throw new Error(`default guardrail policy does not compile: ${compiled.errors.join('; ')}`);
  const policy = compiled.policy;
  const results: GuardrailBenchResult[] = [];
  for (const [size, bytes] of SIZES) {
    const text = realisticPrompt(bytes);
    const withPrefilter = msPerScan(() => scanText(text, policy));
    const withoutPrefilter = msPerScan(() => scanText(text, policy, { prefilter: false }));
    results.push({
      size,
      mbPerSec: round(Buffer.byteLength(text) / (1024 * 1024) / (withPrefilter / 1000)),
      prefilterSpeedup: round(withoutPrefilter / withPrefilter),
    });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return results;
}

export interface ConversationTurnResult {
  context_kib: number;
  messages: number;
  /** The whole conversation is new: every message is scanned. */
  first_turn_ms: number;
  /** The same conversation plus one new message, as chat clients and coding agents send it next. */
  next_turn_ms: number;
  next_vs_first: number;
}

/**
 * What a turn of a long conversation costs the guardrails: clients resend every earlier message with each
 * turn, and only the new one has not been scanned before (src/guardrails/scan-cache.ts).
 */
export async function benchConversationTurn(contextKib = 1024, messageKib = 4): Promise<ConversationTurnResult> {
  const history = realisticPrompt(contextKib * 1024).match(new RegExp(`[^]{1,${messageKib * 1024}}`, 'g'))!;
  const spans = (messages: string[]): TextSpan[] => messages.map((text, i) => ({ path: ['messages', i, 'content'], text, kind: 'user' }));
  const turn = (messages: string[], policy: CompiledGuardrailPolicy): number => {
    const texts = spans(messages);
    const started = performance.now();
    applyGuardrails(texts, { messages: messages.map((content) => ({ role: 'user', content })) }, policy);
    return performance.now() - started;
  };
  const freshPolicy = (): CompiledGuardrailPolicy => {
    const compiled = compileGuardrailPolicy({});
    if (!compiled.ok) throw new Error(compiled.errors.join('; '));
    return compiled.policy;
  };
  turn(history, freshPolicy()); // warm up: regex compilation and JIT
  const first: number[] = [];
  const next: number[] = [];
  for (let run = 0; run < 5; run++) {
    const policy = freshPolicy();
    first.push(turn(history, policy));
    // Each next turn adds a message never seen before, as a person's next prompt is.
    for (let extra = 0; extra < 4; extra++) next.push(turn([...history, realisticPrompt(messageKib * 1024 + run * 4 + extra)], policy));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  return {
    context_kib: contextKib,
    messages: history.length,
    first_turn_ms: round(median(first)),
    next_turn_ms: round(median(next)),
    next_vs_first: round(median(next) / median(first)),
  };
}

function msPerScan(scan: () => unknown): number {
  scan(); // warm up: regex compilation and JIT
  let runs = 0;
  const started = performance.now();
  while (runs < MAX_RUNS && (runs < 3 || performance.now() - started < MIN_SAMPLE_MS)) {
    scan();
    runs++;
  }
  return (performance.now() - started) / runs;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Deterministic pseudo-random source so every run scans the same text. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function realisticPrompt(bytes: number): string {
  const random = rng(bytes);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const token = (length: number): string => Array.from({ length }, () => ALNUM[Math.floor(random() * ALNUM.length)]).join('');
  const blocks: Array<() => string> = [
    () =>
      'Can you help me refactor this service? It reads orders from the queue, enriches them with customer data and ' +
      'writes the result to the warehouse. Latency went from 40 ms to 900 ms after the last release (v2.14.1) and I ' +
      'suspect the new retry policy. Please keep the public API unchanged.\n',
    () =>
      '```ts\nexport async function enrich(order: Order, deps: Deps): Promise<EnrichedOrder> {\n' +
      '  const customer = await deps.customers.get(order.customerId);\n  if (!customer) throw new NotFound(order.customerId);\n' +
      '  const score = await deps.risk.score({ amount: order.total, country: customer.country });\n' +
      '  return { ...order, customer, score, enrichedAt: new Date().toISOString() };\n}\n```\n',
    () =>
      `{"id": "${token(8)}-${token(4)}", "object": "tool_result", "created": 1714529624, "content": [{"type": "text", ` +
      `"text": "Found 3 matching invoices for account 4471 (total 1,299.00 EUR)."}], "usage": {"input_tokens": 1532, "output_tokens": 211}}\n`,
    () =>
      `2024-05-01T02:13:44.123Z INFO  worker-${Math.floor(random() * 9)} picked job ${token(12)} attempt=1\n` +
      `2024-05-01T02:13:44.871Z WARN  upstream slow: GET /v1/customers/${Math.floor(random() * 99999)} took 812ms\n`,
    () =>
      'database:\n  host: db.internal\n  port: 5432\n  pool: 20\nfeatures:\n  retries: 3\n  backoff_ms: 250\n' +
      'logging:\n  level: info\n  format: json\n',
    () => `Please reply to the customer at ${pick(['jane.doe', 'omar.h', 'li.wang'])}@${pick(['acme-corp.com', 'northwind.io'])} and call +44 20 7946 0${Math.floor(100 + random() * 899)} if needed.\n`,
    () => `The deploy failed with: authentication required for ${'gh' + 'p_'}${token(36)} (token expired?)\n`,
    () =>
      'Summarize the following meeting notes into action items with owners and due dates. Notes: the team agreed to ' +
      'migrate the reporting jobs to the new scheduler, pause the legacy export on Friday, and review the on-call ' +
      'rotation after the incident last Tuesday.\n',
  ];
  let text = '';
  while (text.length < bytes) text += pick(blocks)();
  return text.slice(0, bytes);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchGuardrailScan().then((results) => console.log(JSON.stringify(results, null, 2)));
}
