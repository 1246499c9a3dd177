import { z } from 'zod';
import { endpointUrl } from '../protocol/paths.js';
import { VirtualKeySchema, type VirtualKey } from '../protocol/virtual-key.js';
import type { GatewayAdminAuth } from './config.js';
import type { Logger } from '../../log.js';

/** Page size for `/api/governance/virtual-keys`; the gateway may cap it lower, paging copes either way. */
const PAGE_SIZE = 500;

const ListPageSchema = z.looseObject({
  virtual_keys: z.array(z.unknown()).nullish(),
  total_count: z.number().int().nonnegative().optional(),
});

export class GatewayReadError extends Error {}

export interface GatewayAdminClientOptions {
  url: string;
  auth?: GatewayAdminAuth;
  timeoutMs: number;
  log: Logger;
}

/** Reads every virtual key from the Bifrost gateway's admin API (Basic or Bearer auth). */
export async function fetchGatewayVirtualKeys(options: GatewayAdminClientOptions): Promise<VirtualKey[]> {
  const keys: VirtualKey[] = [];
  for (let offset = 0; ; ) {
    const url = endpointUrl(options.url, '/api/governance/virtual-keys');
    url.searchParams.set('limit', String(PAGE_SIZE));
    url.searchParams.set('offset', String(offset));
    const page = await getJson(url, options);
    const parsed = ListPageSchema.safeParse(page);
    if (!parsed.success) throw new GatewayReadError(`the gateway's ${url.pathname} answer is not a virtual key list: ${parsed.error.issues[0]?.message ?? 'unexpected shape'}`);
    const items = parsed.data.virtual_keys ?? [];
    for (const item of items) {
      const vk = VirtualKeySchema.safeParse(item);
      if (vk.success) keys.push(vk.data);
      else options.log.warn('skipping a virtual key the gateway served in an unexpected shape', { id: (item as { id?: unknown })?.id, issue: vk.error.issues[0]?.message });
    }
    offset += items.length;
    const total = parsed.data.total_count;
    if (items.length === 0 || total === undefined || offset >= total) break;
  }
  return keys;
}

function authorization(auth: GatewayAdminAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if (auth.type === 'basic') return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  return { authorization: `Bearer ${auth.token}` };
}

async function getJson(url: URL, options: GatewayAdminClientOptions): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json', ...authorization(options.auth) }, signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (err) {
    throw new GatewayReadError(`cannot reach the gateway at ${url.origin} (${(err as Error).message}); check gateway.url and that Bifrost is running`);
  }
  const text = await res.text();
  if (res.status === 401 || res.status === 403) {
    throw new GatewayReadError(`the gateway refused ${url.pathname} with ${res.status}; set gateway.admin_auth (basic or bearer) to an admin credential`);
  }
  if (!res.ok) throw new GatewayReadError(`the gateway answered ${res.status} to ${url.pathname}: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayReadError(`the gateway answered ${url.pathname} with something that is not JSON`);
  }
}
