/**
 * Work a provider goes on with after its answer ended: a background Responses request (`background: true`) and an
 * Assistants run. Their first answer (`queued`, `in_progress`) reports no usage; the usage comes with the object's
 * final state, fetched back later (`GET /v1/responses/{id}`, `GET /v1/threads/{thread}/runs/{run}`, a resumed
 * stream, a cancel). Edge reads the object's id and state from each answer to charge that usage to the request
 * that started the work (background-responses.ts).
 */

/** The state of one such object, as an answer reports it. */
export interface JobState {
  id: string;
  status: string;
  /**
   * The work goes on without the connection: a background response, an Assistants run. A stream of an ordinary
   * response that the client left is not (the provider stops it, and its prompt is charged as estimated).
   */
  detached: boolean;
}

/** States in which the work is not over: its usage is still to come. Any other state is final. */
const PENDING_STATUSES: ReadonlySet<string> = new Set(['queued', 'in_progress', 'requires_action', 'cancelling']);

export function isPendingStatus(status: string): boolean {
  return PENDING_STATUSES.has(status);
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The object a JSON document reports, or undefined: a Response (`object: "response"`, the answer of a background
 * request and of its retrieval), a Responses stream event carrying one (`response.created`, `response.completed`,
 * … as `response`), an Assistants run (`object: "thread.run"`, also the data of a run's stream events).
 */
export function jobInDocument(doc: unknown): JobState | undefined {
  if (!isObject(doc)) return undefined;
  if (doc['object'] === 'thread.run') return state(doc, true);
  if (doc['object'] === 'response') return state(doc, doc['background'] === true);
  const inner = doc['response'];
  if (typeof doc['type'] === 'string' && doc['type'].startsWith('response.') && isObject(inner)) return state(inner, inner['background'] === true);
  return undefined;
}

function state(object: Json, detached: boolean): JobState | undefined {
  const { id, status } = object;
  if (typeof id !== 'string' || id === '' || typeof status !== 'string') return undefined;
  return { id, status, detached };
}
