import type { PolicyBundle } from '../control/protocol/policy-bundle.js';
import { edgeError, type EdgeError } from '../edge-error.js';
import { isExpired, keyLabel } from './active-key.js';
import type { PolicyRoute } from './decide.js';
import { isProviderAllowed, modelVerdict } from './model-access.js';

/**
 * Whether a live session (a Realtime or Gemini Live WebSocket, decided once at its opening) may go on under the
 * policy as it is now: its key is still in the bundle, active and not expired, and still allows the provider and the
 * model the session was decided for. Its refusal (short enough for a close frame) when not, else undefined. A
 * session no key governs (no policy yet, app-governed surfaces) is never revoked, and neither is one whose key is no
 * longer the policy's active key but is still allowed: the session keeps the key it was decided with. Limits are
 * not checked here (policy's usedUp). Pure: the caller asks after each bundle change and after each charge (a key's
 * expiry passes without one).
 */
export function sessionRevocation(input: { route: PolicyRoute | undefined; bundle: PolicyBundle | undefined; now: Date }): EdgeError | undefined {
  const { route, bundle, now } = input;
  const granted = route?.virtualKey;
  if (!route || !granted || !bundle) return undefined;
  const label = granted.name.trim() !== '' ? granted.name : granted.id;
  const about = { ...(route.provider !== null ? { provider: route.provider } : {}), ...(route.model !== null ? { model: route.model } : {}) };
  const key = bundle.virtual_keys.find((k) => k.id === granted.id);
  if (!key) return edgeError(401, 'virtual_key_not_found', `Bifrost Edge closed this session: key '${label}' is no longer in your AI policy`, about);
  if (!key.is_active) return edgeError(403, 'virtual_key_blocked', `Bifrost Edge closed this session: key '${keyLabel(key)}' was switched off`, about);
  if (isExpired(key, now)) return edgeError(403, 'virtual_key_blocked', `Bifrost Edge closed this session: key '${keyLabel(key)}' expired`, about);
  if (route.provider !== null && !isProviderAllowed(key, route.provider)) {
    return edgeError(403, 'provider_blocked', `Bifrost Edge closed this session: key '${keyLabel(key)}' no longer allows ${route.provider}`, about);
  }
  if (route.provider !== null && route.model !== null && modelVerdict(key, route.provider, route.model) !== 'allowed') {
    return edgeError(403, 'model_blocked', `Bifrost Edge closed this session: key '${keyLabel(key)}' no longer allows ${route.model}`, about);
  }
  return undefined;
}
