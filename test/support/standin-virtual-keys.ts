/**
 * Virtual keys for the Bifrost stand-in: what a test passes in (short, optional fields) and the full
 * wire objects the stand-in serves (`VirtualKey`, `Budget`, `RateLimit`, `VirtualKeyProviderConfig`
 * and `VirtualKeyQuotaResponse` of the Bifrost OpenAPI spec, every required property filled in).
 */
import { createHash } from 'node:crypto';

export const VIRTUAL_KEY_PREFIX = 'sk-bf-';
/** The key the stand-in accepts when a test or the CLI names none. */
export const DEMO_VIRTUAL_KEY = 'sk-bf-demo-0000';

export interface StandinBudgetInput {
  id?: string;
  /** USD. */
  max_limit: number;
  /** "30s", "5m", "1h", "1d", "1w", "1M". */
  reset_duration: string;
  current_usage?: number;
  last_reset?: string;
  calendar_aligned?: boolean;
}

export interface StandinRateLimitInput {
  id?: string;
  token_max_limit?: number;
  token_reset_duration?: string;
  token_current_usage?: number;
  request_max_limit?: number | null;
  request_reset_duration?: string | null;
  request_current_usage?: number;
}

export interface StandinProviderConfigInput {
  id?: number;
  provider: string;
  weight?: number | null;
  /** ["*"] = every model, [] = none. Default ["*"]. */
  allowed_models?: string[];
  blacklisted_models?: string[];
  budgets?: StandinBudgetInput[];
  rate_limit?: StandinRateLimitInput;
}

export interface StandinMcpConfigInput {
  mcp_client_name: string;
  /** ["*"] = every tool, [] = none. Default ["*"]. */
  tools_to_execute?: string[];
}

export interface StandinVirtualKeyInput {
  /** The key itself; must start with `sk-bf-`. */
  value: string;
  id?: string;
  name?: string;
  description?: string;
  /** Default true. An inactive key is answered 403 virtual_key_blocked on inference routes. */
  is_active?: boolean;
  /** Default: openai, anthropic and gemini with every model allowed. Pass [] for none. */
  provider_configs?: StandinProviderConfigInput[];
  mcp_configs?: StandinMcpConfigInput[];
  budgets?: StandinBudgetInput[];
  rate_limit?: StandinRateLimitInput;
  team?: { id?: string; name: string };
  customer?: { id?: string; name: string };
}

export interface BifrostBudget {
  id: string;
  max_limit: number;
  reset_duration: string;
  calendar_aligned: boolean;
  last_reset: string;
  current_usage: number;
  virtual_key_id?: string;
  provider_config_id?: number;
  config_hash: string | null;
  created_at: string;
  updated_at: string;
}

export interface BifrostRateLimit {
  id: string;
  token_max_limit?: number;
  token_reset_duration?: string;
  token_current_usage: number;
  token_last_reset: string;
  request_max_limit?: number | null;
  request_reset_duration?: string | null;
  request_current_usage: number;
  request_last_reset: string;
  config_hash: string | null;
  created_at: string;
  updated_at: string;
}

export interface BifrostProviderConfig {
  id: number;
  virtual_key_id: string;
  provider: string;
  weight: number | null;
  allowed_models: string[];
  blacklisted_models: string[];
  allow_all_keys: boolean;
  budgets: BifrostBudget[];
  rate_limit?: BifrostRateLimit;
  rate_limit_id?: string;
  keys: null;
}

export interface BifrostMcpConfig {
  id: number;
  virtual_key_id: string;
  mcp_client_id: number;
  mcp_client: { client_id: string; name: string; connection_type: 'http'; tools_to_execute: string[] };
  tools_to_execute: string[];
}

export interface BifrostVirtualKey {
  id: string;
  name: string;
  value: string;
  description?: string;
  is_active: boolean;
  provider_configs: BifrostProviderConfig[];
  mcp_configs: BifrostMcpConfig[];
  team_id?: string;
  customer_id?: string;
  rate_limit_id?: string;
  calendar_aligned: boolean;
  team?: { id: string; name: string };
  customer?: { id: string; name: string };
  budgets: BifrostBudget[];
  rate_limit?: BifrostRateLimit;
  config_hash: string;
  created_at: string;
  updated_at: string;
}

export interface BifrostVirtualKeyQuota {
  virtual_key_name: string;
  is_active: boolean;
  budgets: BifrostBudget[] | null;
  rate_limit: BifrostRateLimit | null;
  provider_configs: BifrostProviderConfig[] | null;
}

const DEFAULT_PROVIDERS = ['openai', 'anthropic', 'gemini'];

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

function budget(input: StandinBudgetInput, id: string, now: string, owner: { vk?: string; pc?: number }): BifrostBudget {
  const out: BifrostBudget = {
    id: input.id ?? id,
    max_limit: input.max_limit,
    reset_duration: input.reset_duration,
    calendar_aligned: input.calendar_aligned ?? false,
    last_reset: input.last_reset ?? now,
    current_usage: input.current_usage ?? 0,
    config_hash: null,
    created_at: now,
    updated_at: now,
  };
  if (owner.vk !== undefined) out.virtual_key_id = owner.vk;
  if (owner.pc !== undefined) out.provider_config_id = owner.pc;
  return out;
}

function rateLimit(input: StandinRateLimitInput, id: string, now: string): BifrostRateLimit {
  const out: BifrostRateLimit = {
    id: input.id ?? id,
    token_current_usage: input.token_current_usage ?? 0,
    token_last_reset: now,
    request_current_usage: input.request_current_usage ?? 0,
    request_last_reset: now,
    config_hash: null,
    created_at: now,
    updated_at: now,
  };
  if (input.token_max_limit !== undefined) out.token_max_limit = input.token_max_limit;
  if (input.token_reset_duration !== undefined) out.token_reset_duration = input.token_reset_duration;
  if (input.request_max_limit !== undefined) out.request_max_limit = input.request_max_limit;
  if (input.request_reset_duration !== undefined) out.request_reset_duration = input.request_reset_duration;
  return out;
}

/** Turns test input into full Bifrost wire objects. Throws on a value without `sk-bf-` or a duplicate value. */
export function normalizeVirtualKeys(inputs: readonly StandinVirtualKeyInput[], now = new Date()): BifrostVirtualKey[] {
  const iso = now.toISOString();
  const seen = new Set<string>();
  let providerConfigId = 0;
  let mcpConfigId = 0;
  return inputs.map((input, index) => {
    if (typeof input.value !== 'string' || !input.value.startsWith(VIRTUAL_KEY_PREFIX)) {
      throw new Error(`stand-in virtual key #${index + 1} must start with "${VIRTUAL_KEY_PREFIX}" (got ${JSON.stringify(input.value)})`);
    }
    if (seen.has(input.value)) throw new Error(`stand-in virtual key ${input.value} is listed twice`);
    seen.add(input.value);

    const id = input.id ?? `vk-${shortHash(input.value)}`;
    const providerInputs: StandinProviderConfigInput[] =
      input.provider_configs ?? DEFAULT_PROVIDERS.map((provider) => ({ provider, allowed_models: ['*'] }));
    const providerConfigs = providerInputs.map((pc): BifrostProviderConfig => {
      const pcId = pc.id ?? ++providerConfigId;
      const out: BifrostProviderConfig = {
        id: pcId,
        virtual_key_id: id,
        provider: pc.provider,
        weight: pc.weight === undefined ? 1 : pc.weight,
        allowed_models: pc.allowed_models ?? ['*'],
        blacklisted_models: pc.blacklisted_models ?? [],
        allow_all_keys: true,
        budgets: (pc.budgets ?? []).map((b, i) => budget(b, `budget-${id}-pc${pcId}-${i + 1}`, iso, { pc: pcId })),
        keys: null,
      };
      if (pc.rate_limit) {
        out.rate_limit = rateLimit(pc.rate_limit, `rl-${id}-pc${pcId}`, iso);
        out.rate_limit_id = out.rate_limit.id;
      }
      return out;
    });
    const mcpConfigs = (input.mcp_configs ?? []).map((mc): BifrostMcpConfig => {
      const mcId = ++mcpConfigId;
      const tools = mc.tools_to_execute ?? ['*'];
      return {
        id: mcId,
        virtual_key_id: id,
        mcp_client_id: mcId,
        mcp_client: { client_id: `mcp-${mc.mcp_client_name}`, name: mc.mcp_client_name, connection_type: 'http', tools_to_execute: ['*'] },
        tools_to_execute: tools,
      };
    });
    const vk: BifrostVirtualKey = {
      id,
      name: input.name ?? `stand-in key ${index + 1}`,
      value: input.value,
      is_active: input.is_active ?? true,
      provider_configs: providerConfigs,
      mcp_configs: mcpConfigs,
      calendar_aligned: false,
      budgets: (input.budgets ?? []).map((b, i) => budget(b, `budget-${id}-${i + 1}`, iso, { vk: id })),
      config_hash: createHash('sha256').update(JSON.stringify(input)).digest('hex'),
      created_at: iso,
      updated_at: iso,
    };
    if (input.description !== undefined) vk.description = input.description;
    if (input.rate_limit) {
      vk.rate_limit = rateLimit(input.rate_limit, `rl-${id}`, iso);
      vk.rate_limit_id = vk.rate_limit.id;
    }
    if (input.team) {
      vk.team = { id: input.team.id ?? `team-${shortHash(input.team.name)}`, name: input.team.name };
      vk.team_id = vk.team.id;
    }
    if (input.customer) {
      vk.customer = { id: input.customer.id ?? `customer-${shortHash(input.customer.name)}`, name: input.customer.name };
      vk.customer_id = vk.customer.id;
    }
    return vk;
  });
}

/** `GET /api/governance/virtual-keys/quota` body for one key (provider config `keys` are always null there). */
export function quotaFor(vk: BifrostVirtualKey): BifrostVirtualKeyQuota {
  return {
    virtual_key_name: vk.name,
    is_active: vk.is_active,
    budgets: vk.budgets,
    rate_limit: vk.rate_limit ?? null,
    provider_configs: vk.provider_configs.map((pc) => ({ ...pc, keys: null })),
  };
}

/** Where the gateway found the key, in the order Bifrost looks. */
export type VirtualKeySource = 'x-bf-vk' | 'authorization' | 'x-api-key' | 'x-goog-api-key';

/**
 * Reads the virtual key the way Bifrost does: `x-bf-vk` first (any value), then `Authorization: Bearer`,
 * `x-api-key` and `x-goog-api-key`, each only when the value starts with `sk-bf-` (an app's own provider
 * key is not a virtual key).
 */
export function readVirtualKey(headers: Readonly<Record<string, string | undefined>>): { value: string; source: VirtualKeySource } | null {
  const direct = headers['x-bf-vk']?.trim();
  if (direct) return { value: direct, source: 'x-bf-vk' };
  const auth = headers['authorization']?.trim();
  if (auth) {
    const match = /^bearer\s+(\S+)$/i.exec(auth);
    if (match?.[1]?.startsWith(VIRTUAL_KEY_PREFIX)) return { value: match[1], source: 'authorization' };
  }
  for (const name of ['x-api-key', 'x-goog-api-key'] as const) {
    const value = headers[name]?.trim();
    if (value?.startsWith(VIRTUAL_KEY_PREFIX)) return { value, source: name };
  }
  return null;
}

/** Whether a provider config lets a model through (used to filter model listings). */
export function modelAllowed(vk: BifrostVirtualKey | undefined, provider: string, model: string): boolean {
  if (!vk) return true;
  return vk.provider_configs.some((pc) => {
    if (pc.provider !== provider) return false;
    const names = [model, `${provider}/${model}`];
    if (pc.blacklisted_models.some((m) => names.includes(m))) return false;
    return pc.allowed_models.includes('*') || pc.allowed_models.some((m) => names.includes(m));
  });
}

/** `sk-bf-demo-0000` → `sk-bf-de…0000`, for logs. */
export function maskKey(value: string): string {
  if (value.length <= 12) return `${value.slice(0, 6)}…`;
  return `${value.slice(0, 8)}…${value.slice(-4)}`;
}
