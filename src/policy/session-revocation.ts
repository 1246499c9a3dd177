import type { PolicyBundle } from '../control/protocol/policy-bundle.js';
import type { VirtualKey } from '../control/protocol/virtual-key.js';
import { edgeError, type EdgeError } from '../edge-error.js';
import { isExpired, keyLabel, selectActiveKey } from './active-key.js';
import { decideApp, type AppIdentity } from './apps.js';
import type { PolicyRoute } from './decide.js';
import { applyFailMode, type Connectivity } from './fail-mode.js';
import { isProviderAllowed, modelVerdictFor } from './model-access.js';

/** How the session's close names a fail-closed refusal (the decision's own texts are about one request, and long). */
const FAIL_CLOSED_REASONS: Readonly<Record<string, string>> = {
  gateway_unreachable: 'your policy stops AI use while the gateway or Edge Control cannot be reached',
  audit_queue_full: 'its audit records cannot be uploaded, and your policy stops AI use until they can',
  audit_unwritable: 'its audit records cannot be written, and your policy stops AI use until they can',
};

export interface SessionRevocationInput {
  route: PolicyRoute | undefined;
  bundle: PolicyBundle | undefined;
  now: Date;
  /** Whether the person the key is for is signed in now (the decision's signedIn); absent: not checked. */
  signedIn?: boolean;
  /** What Edge reaches now, for the bundle's fail mode (the decision's connectivity); absent: not checked. */
  connectivity?: Connectivity;
  /**
   * The app that opened the session as the policy's catalog attributes it now (its opening's signals read again with
   * attributeApp: a new catalog may list, deny or re-identify it); absent: not checked.
   */
  app?: AppIdentity;
  /**
   * The decided request's operation: SERVER_MODEL_OPERATION (or SERVED_MODEL_BY_NAME_OPERATION) marks the model a
   * Realtime server says it runs, which is rechecked as it was decided (modelVerdictFor: a release its alias allows);
   * absent, the model is held to exact names.
   */
  operation?: string;
}

/**
 * Whether a live session (a Realtime or Gemini Live WebSocket, decided once at its opening) may go on under the
 * policy as it is now: the gates its decision passed still let it through. The app catalog still lets its app through
 * (not denied, and not pending while the policy blocks apps pending review), the fail mode does not refuse it (a
 * fail-closed policy while the gateway or Edge Control cannot be reached, or the audit records cannot be kept), its
 * user is still signed in, its key is still in the bundle, active and not expired, and still allows the provider and
 * the model the session was decided for; a session decided before any policy arrived is held to the policy's active
 * key once one has. Its refusal (short enough for a close frame) when not, else undefined. A session no key governs
 * (app-governed surfaces, MCP) is never revoked, and neither is one whose key is no longer the policy's active key but
 * is still allowed: the session keeps the key it was decided with. Limits are not checked here (policy's usedUp).
 * Pure: the caller asks after each change of policy, sign-in or connectivity, and after each charge (a key's expiry
 * passes without a change).
 */
export function sessionRevocation(input: SessionRevocationInput): EdgeError | undefined {
  const { route, bundle, now } = input;
  // Governed by the app catalog, or an MCP server's traffic: no provider, no key.
  if (!route || route.provider === null) return undefined;
  const about = { provider: route.provider, ...(route.model !== null ? { model: route.model } : {}) };
  // First, as in the decision: an app the organization stopped allowing is the reason that lasts.
  if (input.app) {
    const verdict = decideApp(input.app, bundle);
    if (verdict.action === 'block') return edgeError(403, 'app_blocked', appClosedMessage(input.app.name, verdict.status), about);
  }
  if (input.connectivity) {
    const failMode = applyFailMode({ bundle, connectivity: input.connectivity, mode: route.mode, now });
    if (failMode.action === 'refuse') {
      const why = FAIL_CLOSED_REASONS[failMode.error.type] ?? FAIL_CLOSED_REASONS['gateway_unreachable']!;
      return edgeError(failMode.error.status, failMode.error.type, `Bifrost Edge closed this session: ${why}`, about);
    }
  }
  if (input.signedIn === false) {
    return edgeError(401, 'virtual_key_required', 'Bifrost Edge closed this session: you signed out of Bifrost Edge; sign in to start another', about);
  }
  if (!bundle) return undefined;
  const granted = route.virtualKey;
  const { operation } = input;
  if (!granted) return activeKeyRefusal(bundle, now, about, operation);
  const label = granted.name.trim() !== '' ? granted.name : granted.id;
  const key = bundle.virtual_keys.find((k) => k.id === granted.id);
  if (!key) return edgeError(401, 'virtual_key_not_found', `Bifrost Edge closed this session: key '${label}' is no longer in your AI policy`, about);
  if (!key.is_active) return edgeError(403, 'virtual_key_blocked', `Bifrost Edge closed this session: key '${keyLabel(key)}' was switched off`, about);
  if (isExpired(key, now)) return edgeError(403, 'virtual_key_blocked', `Bifrost Edge closed this session: key '${keyLabel(key)}' expired`, about);
  return accessRefusal(key, about, operation);
}

/** Why a session of a refused app was closed: short, for the close frame (the decision's own text is about one request). */
function appClosedMessage(app: string, status: 'denied' | 'pending' | 'approved'): string {
  return status === 'pending'
    ? `Bifrost Edge closed this session: ${app} is waiting for your admin's review, and your AI policy now blocks apps until they are approved`
    : `Bifrost Edge closed this session: your organization no longer allows ${app} for AI use`;
}

/** A session decided before any policy (the gateway decided with the configured key): the policy's active key now governs it. */
function activeKeyRefusal(bundle: PolicyBundle, now: Date, about: { provider: string; model?: string }, operation: string | undefined): EdgeError | undefined {
  const selection = selectActiveKey(bundle, now);
  switch (selection.kind) {
    case 'none':
      return edgeError(401, 'virtual_key_required', 'Bifrost Edge closed this session: your AI policy gives you no virtual key', about);
    case 'named-missing':
      return edgeError(401, 'virtual_key_not_found', 'Bifrost Edge closed this session: your AI policy selects a key it does not contain', about);
    case 'inactive':
      return edgeError(403, 'virtual_key_blocked', `Bifrost Edge closed this session: key '${keyLabel(selection.key)}' is switched off`, about);
    case 'expired':
      return edgeError(403, 'virtual_key_blocked', `Bifrost Edge closed this session: key '${keyLabel(selection.key)}' expired`, about);
    case 'usable':
      return accessRefusal(selection.key, about, operation);
  }
}

/** Whether `key` still allows the session's provider and model, judged by the rule it was decided under (modelVerdictFor). */
function accessRefusal(key: VirtualKey, about: { provider: string; model?: string }, operation: string | undefined): EdgeError | undefined {
  const { provider, model } = about;
  if (!isProviderAllowed(key, provider)) {
    return edgeError(403, 'provider_blocked', `Bifrost Edge closed this session: key '${keyLabel(key)}' no longer allows ${provider}`, about);
  }
  if (model !== undefined && modelVerdictFor(operation ?? '', key, provider, model) !== 'allowed') {
    return edgeError(403, 'model_blocked', `Bifrost Edge closed this session: key '${keyLabel(key)}' no longer allows ${model}`, about);
  }
  return undefined;
}
