import type { PolicyEnforcer, UsageCharge } from '../../src/policy/enforcer.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';

export interface PolicyExchange {
  method: string;
  /** The request's path and query. */
  target: string;
  /** The answer's body, relayed in chunks as a large answer comes. */
  answer: string | Buffer;
  /** The request's JSON body, if it has one. */
  body?: unknown;
  host?: string;
  contentType?: string;
  contentEncoding?: string;
}

const resolver = createProviderResolver();
const CHUNK_BYTES = 16_384;

/**
 * One exchange as the proxy runs it through `enforcer`: recognised by Edge's own resolver from its method and path,
 * decided, answered, settled. Gives what the answer was charged (its reported usage, or the estimate), or 'refused'.
 */
export async function exchangeThroughPolicy(enforcer: PolicyEnforcer, exchange: PolicyExchange): Promise<UsageCharge | undefined | 'refused'> {
  const { method, target, body } = exchange;
  const info = { method, host: exchange.host ?? 'api.openai.com', path: target, headers: { 'content-type': 'application/json' } };
  const resolution = resolver.resolve(info);
  if (resolution.kind !== 'recognized') throw new Error(`${method} ${target} was not recognised: ${resolution.kind}`);
  const parsed = resolution.parse(body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
  if (!parsed.ok) throw new Error(`${method} ${target} was not parsed: ${parsed.error.message}`);
  const request = parsed.request;
  if ((await enforcer.inspector()({ request, body: parsed.body, info, app: 'probe' })).action !== 'allow') return 'refused';
  let charged: UsageCharge | undefined;
  const meter = enforcer.meterResponse(request, { contentType: exchange.contentType ?? 'application/json', contentEncoding: exchange.contentEncoding, status: 200 },
    (reported, estimate) => { charged = reported ?? estimate; });
  const bytes = Buffer.from(exchange.answer);
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) meter?.push(bytes.subarray(at, at + CHUNK_BYTES));
  meter?.end();
  await meter?.finished;
  enforcer.settle(request);
  return charged;
}
