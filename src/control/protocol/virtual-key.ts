import { z } from 'zod';

/**
 * Bifrost's virtual-key shapes as the gateway serves them (shared/reference/bifrost-openapi-subset.json:
 * VirtualKey, VirtualKeyProviderConfig, Budget, RateLimit, VirtualKeyMCPConfig). Loose objects: the
 * gateway adds fields over time and Edge must not refuse a key because of one it does not know.
 */
export const BudgetSchema = z.looseObject({
  id: z.string().optional(),
  /** USD. */
  max_limit: z.number().nonnegative(),
  /** `30s`, `5m`, `1h`, `1d`, `1w`, `1M`, `1Y`. */
  reset_duration: z.string().min(1),
  current_usage: z.number().nonnegative().optional(),
  last_reset: z.string().optional(),
});

export const RateLimitSchema = z.looseObject({
  id: z.string().optional(),
  token_max_limit: z.number().int().nonnegative().nullish(),
  token_reset_duration: z.string().nullish(),
  token_current_usage: z.number().int().nonnegative().optional(),
  token_last_reset: z.string().optional(),
  request_max_limit: z.number().int().nonnegative().nullish(),
  request_reset_duration: z.string().nullish(),
  request_current_usage: z.number().int().nonnegative().optional(),
  request_last_reset: z.string().optional(),
});

export const ProviderConfigSchema = z.looseObject({
  provider: z.string().min(1),
  weight: z.number().nullish(),
  /** `["*"]` allows every model, `[]` none (Bifrost semantics). */
  allowed_models: z.array(z.string()).default(['*']),
  blacklisted_models: z.array(z.string()).default([]),
  budgets: z.array(BudgetSchema).nullish(),
  rate_limit: RateLimitSchema.nullish(),
});

export const McpConfigSchema = z.looseObject({
  /** Edge Control spells the client name directly; Bifrost nests it in `mcp_client.name`. */
  mcp_client_name: z.string().optional(),
  mcp_client: z.looseObject({ name: z.string() }).optional(),
  /** Tools of that client the key may execute; `["*"]` all. */
  tools_to_execute: z.array(z.string()).default([]),
});

export const VirtualKeySchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().default(''),
  /** The `sk-bf-…` secret. Present in bundles for the key's own user; never logged. */
  value: z.string().startsWith('sk-bf-').optional(),
  is_active: z.boolean().default(true),
  /** Edge extension: the key stops working at this instant (ISO 8601). */
  expires_at: z.string().datetime({ offset: true }).nullish(),
  provider_configs: z.array(ProviderConfigSchema).default([]),
  mcp_configs: z.array(McpConfigSchema).default([]),
  budgets: z.array(BudgetSchema).nullish(),
  rate_limit: RateLimitSchema.nullish(),
  team: z.looseObject({ id: z.string().optional(), name: z.string().optional() }).nullish(),
  customer: z.looseObject({ id: z.string().optional(), name: z.string().optional() }).nullish(),
});

/** `GET /api/governance/virtual-keys/quota`, authenticated by the key itself (no admin rights needed). */
export const VirtualKeyQuotaSchema = z.looseObject({
  virtual_key_name: z.string(),
  is_active: z.boolean(),
  budgets: z.array(BudgetSchema).nullish(),
  rate_limit: RateLimitSchema.nullish(),
  provider_configs: z.array(ProviderConfigSchema).nullish(),
});

export type Budget = z.output<typeof BudgetSchema>;
export type RateLimit = z.output<typeof RateLimitSchema>;
export type ProviderConfig = z.output<typeof ProviderConfigSchema>;
export type McpConfig = z.output<typeof McpConfigSchema>;
export type VirtualKey = z.output<typeof VirtualKeySchema>;
export type VirtualKeyQuota = z.output<typeof VirtualKeyQuotaSchema>;
