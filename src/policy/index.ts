/**
 * Device-side policy enforcement: the pure decision (decide.ts) and the stateful enforcer the proxy and
 * the agent use (enforcer.ts), with the stores it needs. See enforcer.ts for how the proxy calls it.
 */
export { decideRequest, type Decision, type DecisionInput, type PolicyRoute, type RouteKey } from './decide.js';
export { PolicyEnforcer, type PolicyEnforcerOptions, type UsageCharge } from './enforcer.js';
export { openPolicyDatabase, type PolicyDatabase } from './policy-database.js';
export { SqliteCounterStore, type CounterStore } from './counter-store.js';
export { SqliteShadowAiRegistry, isKnownAiHost, type ShadowAiRegistry, type ShadowEntry } from './shadow-ai.js';
export { NoticeBus, type Notice, type NoticeDraft, type NoticeKind } from './notices.js';
export { attributeApp, compileAppCatalog, decideApp, type AppIdentity, type AppSignals } from './apps.js';
export { applyFailMode, type Connectivity, type FailModeOutcome } from './fail-mode.js';
export { parseResetDuration, DurationError } from './durations.js';
export { usageFromJson, StreamUsageExtractor, usageReaderFor, type TokenUsage } from './usage.js';
export { createResponseMeter, type ResponseMeter } from './response-meter.js';
export { lookupPrice, estimateCost, DEFAULT_PRICES } from './pricing.js';
export { buildPolicyStatus, type PolicyStatus } from './status-data.js';
export { formatStatus } from './status-command.js';
