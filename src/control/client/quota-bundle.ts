import { createHash } from 'node:crypto';
import { canonicalJson } from '../../util/canonical-json.js';
import type { PolicyTemplateInput } from '../protocol/admin.js';
import { PolicyBundleSchema, type PolicyBundle } from '../protocol/policy-bundle.js';
import type { VirtualKeyQuota } from '../protocol/virtual-key.js';

export interface QuotaBundleInputs {
  quota: VirtualKeyQuota;
  /** The key the quota was read with; it goes in the bundle as the key the device sends. */
  virtualKey: string;
  gatewayUrl: string;
  version: number;
  issuedAt: string;
  /** Local Edge settings (guardrails, apps, fail mode…) that stock Bifrost has no place for. */
  template?: PolicyTemplateInput;
}

/**
 * Stock-Bifrost mode: a bundle synthesized on the device from `GET /api/governance/virtual-keys/quota`.
 * It is unsigned — the device trusts it because it read it from its own gateway with its own key, and
 * the gateway enforces the same rules anyway; Edge's copy only lets it refuse early and explain.
 */
export function bundleFromQuota(inputs: QuotaBundleInputs): PolicyBundle {
  const { quota } = inputs;
  const id = quotaVirtualKeyId(inputs.virtualKey);
  return PolicyBundleSchema.parse({
    ...inputs.template,
    schema: 'bifrost-edge.policy/v1',
    version: inputs.version,
    issued_at: inputs.issuedAt,
    virtual_keys: [{
      id,
      name: quota.virtual_key_name,
      value: inputs.virtualKey,
      is_active: quota.is_active,
      // Provider `keys` are the gateway's upstream credentials (null on the quota route); never keep them.
      provider_configs: (quota.provider_configs ?? []).map(({ keys: _keys, ...pc }) => pc),
      budgets: quota.budgets ?? null,
      rate_limit: quota.rate_limit ?? null,
    }],
    active_virtual_key_id: id,
    gateway: { url: inputs.gatewayUrl },
  });
}

/** A stable id for the key (the quota route does not return the key's Bifrost id). */
export function quotaVirtualKeyId(virtualKey: string): string {
  return `quota-${createHash('sha256').update(virtualKey).digest('hex').slice(0, 12)}`;
}

/** Equal for bundles that say the same thing, whatever their version and issue time. */
export function quotaBundleContentHash(bundle: PolicyBundle): string {
  const { version: _version, issued_at: _issuedAt, ...content } = bundle;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}
