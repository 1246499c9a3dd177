/** Every built-in credential rule, in one list. Ids are unique (checked by the rule-table tests). */
import { aiProviderRules } from './ai-providers.js';
import { cloudRules } from './cloud.js';
import { credentialRules } from './credentials.js';
import { cryptoKeyRules } from './crypto-keys.js';
import { messagingRules } from './messaging.js';
import { observabilityRules } from './observability.js';
import { paymentRules } from './payments.js';
import { saasRules } from './saas.js';
import { sourceControlRules } from './source-control.js';
import type { SecretRule } from './rule.js';

export type { SecretRule } from './rule.js';

export const SECRET_RULES: readonly SecretRule[] = [
  ...aiProviderRules,
  ...cloudRules,
  ...sourceControlRules,
  ...messagingRules,
  ...paymentRules,
  ...observabilityRules,
  ...saasRules,
  ...cryptoKeyRules,
  ...credentialRules,
];
