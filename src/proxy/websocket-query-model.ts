import { lettersOf } from '../providers/name-letters.js';
import { isBlurredName } from '../providers/route-path.js';

/**
 * The model names a WebSocket URL's query gives, in order: Realtime's `?model=`, and on Azure its `?deployment=` too
 * (the deployment being the model, as on its HTTP routes). More than one is refused by the caller: Edge would decide on
 * one while the server might use another.
 *
 * Azure's query names are matched as a lenient server may read them, in any letter case and with surrounding spaces or
 * control bytes dropped (`?Deployment=`, `?deployment%20=`, `?Model=`): matched exactly, such a name would open a
 * socket Edge decided on no model (or on another one, `?deployment=a&Deployment=b`) while the server reads the
 * deployment from it. Elsewhere the server's own model check (decideServed) closes that gap, so names stay exact.
 */
export function modelsInQuery(provider: string, params: URLSearchParams): string[] {
  if (provider !== 'azure') return params.getAll('model');
  const models: string[] = [];
  for (const [name, value] of params) {
    const loose = looseQueryName(name);
    if (loose === 'deployment' || loose === 'model') models.push(value);
  }
  return models;
}

/** A query name as a lenient server may read it: in lower case, without the spaces and control bytes around it. */
function looseQueryName(name: string): string {
  const chars = [...name];
  let start = 0;
  let end = chars.length;
  while (start < end && isSpaceOrControl(chars[start]!)) start++;
  while (end > start && isSpaceOrControl(chars[end - 1]!)) end--;
  return chars.slice(start, end).join('').toLowerCase();
}

function isSpaceOrControl(char: string): boolean {
  const code = char.charCodeAt(0);
  return /\s/.test(char) || code < 0x20 || code === 0x7f;
}

/**
 * Whether an Azure deployment named in the query (decoded) is one a lenient server may read as another name
 * (`voice-secret ` from `%20`, `voice-secret.`, `voice-secret\n`, `voice-secret;x`): policy would judge one deployment
 * while the server opens another, so a deny rule would not hold. The same rule makes such a name in an HTTP path an
 * unknown route (isBlurredName); the value is decoded already, so whitespace and control bytes are looked for as such.
 */
export function isBlurredDeployment(name: string): boolean {
  return isBlurredName(name) || [...name].some(isSpaceOrControl);
}

/** The path of the Azure v1 Realtime API, the one route a call's sideband connection takes (on every Azure host). */
const V1_REALTIME_PATH = '/openai/v1/realtime';

/**
 * Whether an Azure Realtime opening that names no deployment joins a call already made (the SDK's sideband connection,
 * `/openai/v1/realtime?call_id=…`): its model was chosen by the request that created the call, not on this socket.
 * Only on the v1 route, the one the SDK sends `call_id` on: the preview route `/openai/realtime` has no calls to join.
 * `pathname`: the socket's path in the form the origin routes it (webSocketApiAt).
 */
export function joinsExistingCall(pathname: string, params: URLSearchParams): boolean {
  return pathname === V1_REALTIME_PATH && (params.get('call_id') ?? '') !== '';
}

/**
 * Whether an Azure Realtime opening asks for a transcription session (`?intent=transcription`, named once however a
 * lenient server reads query names): its deployment is the transcription model its session message names
 * (`input_audio_transcription.model`), not one in the URL. A second `intent` a server might read instead is no such
 * opening.
 */
export function opensTranscriptionSession(params: URLSearchParams): boolean {
  const intents = [...params].filter(([name]) => looseQueryName(name) === 'intent');
  return intents.length === 1 && intents[0]![1] === 'transcription';
}

/**
 * Whether an opening names a Foundry agent (`agent-id`, `agent_id`, `agent-name`, `agent-project-name`,
 * `agent-access-token`, ...; Voice Live's agent mode, and a Foundry project's Realtime socket's): the agent then
 * chooses the model, in its definition, where Edge cannot see it, and its instructions and tools are the agent's, not in
 * the socket's messages. A `?model=` next to it may be ignored by the server. Any query name whose letters start
 * `agent` counts, whatever stands between them (`agentId`, `agent%20id`, `agent.id`, a zero-width space in front):
 * SDKs and servers spell and normalize these names in more ways than Edge can list, and no other parameter of the
 * socket starts so.
 */
export function namesAgentMode(params: URLSearchParams): boolean {
  return [...params.keys()].some((name) => /^agent/.test(lettersOf(name)));
}
