import { randomUUID } from 'node:crypto';
import type { EdgeError } from '../edge-error.js';
import type { HttpRequestInfo, NormalizedRequest, ProviderName } from '../providers/types.js';
import type { TokenUsage } from '../policy/usage.js';
import type { ExchangeRecord, UsageNote } from './exchange.js';
import type { InspectionNotes, InspectionResult, RequestInspector } from './surface-resolution.js';
import { readClientMessage, tooBigMessage, type WebSocketApi } from './websocket-messages.js';
import { namesModelInSetup } from './websocket-api.js';
import { createSessionUsage, TOO_MANY_MODELS_MESSAGE, type ServedModelVerdict, type SessionClose, type SessionUsage } from './websocket-session-usage.js';
import { conversationTexts } from '../providers/conversation-texts.js';
import { configuresTranscriptionSession } from '../providers/realtime-events.js';
import { SERVED_MODEL_BY_NAME_OPERATION, SERVER_MODEL_OPERATION } from '../policy/model-access.js';
import { listsNameDeployments } from '../policy/model-name-key.js';
import { responsesErrorEvent } from '../providers/responses-websocket-events.js';

/** The WebSocket whose client messages are inspected, as its opening was decided. */
export interface InspectedWebSocket {
  api: WebSocketApi;
  host: string;
  /** Without the query string (which may hold an API key, Gemini's `?key=`). */
  path: string;
  info: HttpRequestInfo;
  app: string;
  provider: ProviderName;
  /** The model the URL names (Realtime `?model=`), until a message names one. */
  model: string | null;
  /** Where the socket goes (the gateway or the origin), for its records. */
  via?: ExchangeRecord['via'];
  /** The opening's request, whose ticket a Realtime session's usage is charged to unless another model it was decided on costs more. */
  opening?: NormalizedRequest;
  /**
   * An Azure transcription socket whose URL names no deployment (`?intent=transcription`): the transcription model its
   * session message names is the deployment, and nothing but session configuration is relayed until one is allowed.
   */
  deploymentInSession?: boolean;
  /**
   * An Azure Realtime socket whose names are models, not deployments (Voice Live: `?model=gpt-4o`). The models its
   * client's messages name are then held to the key's lists as the opening's was, as client-named models
   * (SESSION_MODEL_OPERATION: exact names, folded as Azure's are), not to its deny rules alone as the model behind a
   * deployment is: a key listing only gpt-4o must not let a session.update switch to gpt-realtime. What its server
   * reports it runs is held to the lists as another provider's server's is (SERVED_MODEL_BY_NAME_OPERATION).
   */
  namesModels?: boolean;
}

export interface WebSocketMessageInspectorDeps {
  socket: InspectedWebSocket;
  /** The request inspectors after policy (custom steps, guardrails, content safety), run on each message's text. */
  contentInspectors: () => RequestInspector[];
  /**
   * The policy step for a model a message names. `counts`: this decision is the one the session counts as
   * against the key's request limit (Gemini Live's setup); other checks count nothing.
   */
  checkModel: (request: NormalizedRequest, counts: boolean) => Promise<InspectionResult>;
  /**
   * The policy step for a turn (a message that is a model call of its own, websocket-messages.ts), as for an HTTP
   * request: it counts against the key's request limit once `sent`, holding its place until `settle`, so a turn a
   * later step refuses counts nothing. Absent, a turn is checked with checkModel and counts when decided.
   */
  checkTurn?: (request: NormalizedRequest) => Promise<TurnCheck>;
  record: (record: ExchangeRecord) => Promise<void>;
  maxMessageBytes: number;
  /**
   * Charges usage a server message reports to the key's windows against a decided request's ticket (policy's
   * recordResponseUsage). Without it the server's messages are not read.
   */
  charge?: (request: NormalizedRequest, usage: TokenUsage) => UsageNote | undefined;
  /**
   * After a charge: the refusal the key's token or spend windows of a decided request now meet, used up (policy's
   * usedUp, a question with no side effects). Without it a Realtime or Gemini Live session is never closed for them.
   */
  usedUp?: (request: NormalizedRequest) => Pick<EdgeError, 'status' | 'type' | 'message'> | undefined;
  /**
   * The refusal a decided request's key now meets under the current policy (policy's revoked): a Realtime or Gemini
   * Live session whose key is gone, switched off, expired, or no longer allows its provider or model is closed.
   */
  revoked?: (request: NormalizedRequest) => Pick<EdgeError, 'status' | 'type' | 'message'> | undefined;
  /** Subscribes to policy changes (each bundle applied); returns the unsubscription. Without it, keys are rechecked only at charges. */
  policyChanges?: (listener: () => void) => () => void;
  /**
   * What charging usage to a decided request would cost, nothing charged (policy's priceOf): a Realtime session's
   * usage is charged to the request it was decided on that it costs most on (websocket-session-usage.ts).
   */
  priceOf?: (request: NormalizedRequest, usage: TokenUsage) => number | undefined;
  /** Charges seconds a transcription model billed by the minute transcribed (policy's recordDurationUsage). */
  chargeSeconds?: (request: NormalizedRequest, seconds: number) => UsageNote | undefined;
}

/** The policy's verdict on a turn, and its place in the key's request windows. */
export interface TurnCheck {
  verdict: InspectionResult;
  /** The turn goes upstream: it counts. */
  sent(): void;
  /** The decision is over, whatever it was: a place not sent is given back. */
  settle(): void;
  /** A turn sent whose answer never came: Edge's estimate is charged, as for an HTTP request the client abandoned. */
  abandoned?(): UsageNote | undefined;
}

/** What became of a message the relay was told to forward: handed to an open upstream, or not sent because a side had closed. */
export type HandOver = { sent: true } | { sent: false; errorType: 'client_aborted' | 'upstream_not_open' | 'upstream_closed' };

export type MessageVerdict =
  /**
   * `data`: the message rewritten (redacted); absent, the message goes as it came. `handedOver`: to be told, at
   * once (synchronously up to its first await), whether the message went to an open upstream: a turn counts and is
   * recorded as sent only then. A socket may close while a message is decided (its client left during a slow
   * content-safety check), and what is then handed over is never sent.
   */
  | { action: 'forward'; data?: Buffer; handedOver?: (outcome: HandOver) => Promise<void> }
  /** The message is not sent; `data` (a server message saying why) goes to the client, and the socket stays open. */
  | { action: 'reply'; data: Buffer }
  | { action: 'close'; code: number; reason: string };

export interface WebSocketMessageInspector {
  /** Decides one whole client message. Called one message at a time, in order. */
  inspect(data: Buffer, isBinary: boolean): Promise<MessageVerdict>;
  /** What a client whose message is over the size limit is told. */
  readonly tooBigReason: string;
  /** Records a message `ws` refused for its size before it was whole. */
  recordTooBig(): Promise<void>;
  /**
   * Reads a server message, after it was relayed, for the usage it reports (websocket-session-usage.ts): charged at
   * once, and resolving to a close once the key's tokens or budget are used up (Realtime, Gemini Live), or the model
   * a Realtime server says it runs is one the key does not allow. Undefined for a message that reports none. Never throws; the promise may reject when a record cannot be written.
   */
  serverMessage(data: Buffer): Promise<SessionClose | undefined> | undefined;
  /**
   * From the relay, once the session runs: how Edge closes it on its own (the policy changed and its key no longer
   * allows it, or its budget is spent under the new limits), until `closed`.
   */
  watch?(close: (close: SessionClose) => void): void;
  /** The socket closed, however it ended: turns still awaiting their answers give back what they hold. */
  closed(): Promise<void>;
}

const POLICY_VIOLATION = 1008;

/** Why an allowed message recorded on its hand-over (a turn, a Lyria RealTime setup) was not sent, for its record. */
function notSentMessage(why: Extract<HandOver, { sent: false }>['errorType'], what: 'turn' | 'setup'): string {
  switch (why) {
    case 'client_aborted': return `The client closed the WebSocket while this ${what} was being decided; it was not sent`;
    case 'upstream_not_open': return `The upstream WebSocket was not open yet when this ${what} was decided; it was not sent`;
    case 'upstream_closed': return `The upstream WebSocket closed while this ${what} was being decided; it was not sent`;
  }
}
type Finding = NonNullable<InspectionNotes['findings']>[number];

/**
 * Decides the client messages of a WebSocket like request bodies: a model a message names goes through the
 * policy step (the key's model rules), its text through the guardrails and the other content steps. A block
 * closes the socket with 1008 and a reason naming what was found (never the text); a redaction rewrites the
 * message before it goes on; a flag lets it go. Each finding and refusal is an audit record, written before
 * the message goes on or the socket closes (an allowed turn's once it was handed over, below). Gemini Live and Lyria
 * RealTime name their model only in their first message, `setup`: nothing is relayed before that model is allowed.
 * A Lyria RealTime setup allowed is recorded once it was handed over, as a turn is, when it names another model than
 * the last one recorded: its model would otherwise be in no record (it reports no usage), and the session's later
 * records name the model of its last setup sent.
 *
 * A turn (a Responses `response.create` or `response.append`) is a request of its own: the policy step decides
 * its model and counts it, and it is recorded whatever the decision. An allowed turn counts, and is recorded as
 * sent, once the relay handed it to an open upstream, as an HTTP request is recorded once sent; one whose socket
 * closed while it was decided is recorded as not sent (client_aborted, upstream_not_open, upstream_closed), is charged nothing and
 * gives its place in the key's windows back. A refused turn is answered with the API's `error` event and the
 * socket stays open, as the API itself answers a request it refuses: each turn stands alone, so the conversation
 * on the socket is as the client believes it. A `response.append` runs on the model of the last response.create
 * allowed on the socket. A `response.inject` (input committed to the active response) is decided on that model too,
 * and refused the same way, but is no turn: it starts no response, so it counts nothing and is charged with the
 * response it joins.
 */
export function createWebSocketMessageInspector(deps: WebSocketMessageInspectorDeps): WebSocketMessageInspector {
  const { socket } = deps;
  let model = socket.model;
  let setupAllowed = !namesModelInSetup(socket.api);
  /** The model of the last Lyria RealTime setup recorded as sent (undefined before one). */
  let recordedSetupModel: string | undefined;

  const record = (started: number, fields: Pick<ExchangeRecord, 'decision' | 'findings'> & Partial<ExchangeRecord>) => deps.record({
    id: randomUUID(), method: 'GET', host: socket.host, path: socket.path, provider: socket.provider, model, app: socket.app,
    ...(socket.via ? { via: socket.via } : {}), latencyMs: Date.now() - started, ...fields,
  });
  const refuse = async (started: number, error: Pick<EdgeError, 'status' | 'type' | 'message'>, code: number, reason: string, extra: Partial<ExchangeRecord> = {}): Promise<MessageVerdict> => {
    await record(started, { via: 'edge', decision: 'blocked', status: error.status, errorType: error.type, message: error.message, findings: [], ...extra });
    return { action: 'close', code, reason };
  };
  const request = (operation: string, fields: Partial<NormalizedRequest> = {}): NormalizedRequest => ({
    provider: socket.provider, adapter: 'websocket', operation, model, stream: true, texts: [], tools: [], inspected: true, ...fields,
  });
  /** The model of the last turn allowed (a `response.create`'s, null when a stored prompt carried it); undefined before one. */
  let turnModel: string | null | undefined;
  /**
   * An Azure Realtime session on a deployment: its messages name the model behind the deployment, not one of the key's
   * deployments. Not Voice Live's, whose names are models the key's lists name (InspectedWebSocket.namesModels).
   */
  const namesModelBehindDeployment = socket.api === 'openai-realtime' && listsNameDeployments(socket.provider) && socket.namesModels !== true;
  /** No deployment allowed yet on a socket whose session message names it (an Azure transcription socket). */
  let awaitingDeployment = namesModelBehindDeployment && socket.deploymentInSession === true;
  /** What the server reports it used, charged (absent without a charge). */
  const usage: SessionUsage | undefined = deps.charge && createSessionUsage({
    api: socket.api,
    charge: deps.charge,
    usedUp: (governing) => deps.usedUp?.(governing),
    ...(deps.revoked ? { revoked: deps.revoked } : {}),
    ...(deps.priceOf ? { priceOf: deps.priceOf } : {}),
    ...(deps.chargeSeconds ? { chargeSeconds: deps.chargeSeconds } : {}),
    // On Azure the server names the model behind the deployment, which no key's deployment list can allow: the policy
    // holds it to the key's deny rules alone (servedModelVerdict), and it is one more price the session may be charged at.
    ...(socket.api === 'openai-realtime' ? { decideServed: (served: string) => decideServed(served) } : {}),
    record: (started, fields) => record(started, { findings: [], ...fields }),
  });
  // A Realtime session's usage is charged to its opening, or to another model it was decided on that costs more.
  if (socket.opening && socket.api === 'openai-realtime') usage?.govern(socket.opening);
  /** Ends the subscription to policy changes (watch). */
  let unwatch: (() => void) | undefined;
  /** The request on the transcription model a Realtime session configured: its input transcriptions are charged to it. */
  let transcribing: NormalizedRequest | undefined;

  type ReadMessage = Extract<ReturnType<typeof readClientMessage>, { kind: 'json' }>;
  /** What the content steps made of a message: blocked (the error and the findings), or what goes on. */
  type ContentOutcome =
    | { blocked: EdgeError; findings: Finding[]; prompt: string }
    | { blocked?: undefined; body: unknown; rewritten: boolean; flagged: boolean; findings: Finding[]; prompt: string };
  const inspectContent = async (message: ReadMessage, normalized: NormalizedRequest): Promise<ContentOutcome> => {
    const prompt = conversationTexts(message.texts).join('\n');
    const findings: Finding[] = [];
    let body = message.body;
    let rewritten = false;
    let flagged = false;
    if (message.texts.length === 0) return { body, rewritten, flagged, findings, prompt };
    for (const inspect of deps.contentInspectors()) {
      const verdict = await inspect({ request: normalized, body, info: socket.info, app: socket.app });
      if (verdict.notes?.findings) findings.push(...verdict.notes.findings);
      flagged ||= verdict.notes?.flagged === true;
      if (verdict.action === 'block') return { blocked: verdict.error, findings, prompt };
      if (verdict.action === 'rewrite') {
        body = verdict.body;
        rewritten = true;
      }
    }
    return { body, rewritten, flagged, findings, prompt };
  };
  const checkTurn = deps.checkTurn ?? (async (candidate: NormalizedRequest): Promise<TurnCheck> => ({
    verdict: await deps.checkModel(candidate, true), sent: () => {}, settle: () => {},
  }));

  /**
   * The model the server says a Realtime session runs on, decided as itself (SERVER_MODEL_OPERATION: the policy holds
   * it to servedModelVerdict). Servers name a model's release (`gpt-realtime-2025-08-28`) where keys name its alias:
   * the alias lets its releases through, unless the key blocks the release (or the alias) or names other releases.
   * On Azure it is the model behind the deployment, held to the key's deny rules only. Refused, the session is closed
   * as a refused opening is. Azure's records keep naming the deployment, the name the key's lists know.
   */
  const decideServed = async (served: string): Promise<ServedModelVerdict> => {
    // On a socket whose names are models (Voice Live) held to the key's lists as another provider's server's model is,
    // a dated release (`gpt-4o-2024-11-20`) of a listed alias going; behind a deployment, to its deny rules alone.
    const candidate = request(socket.namesModels === true ? SERVED_MODEL_BY_NAME_OPERATION : SERVER_MODEL_OPERATION, { model: served });
    const verdict = await deps.checkModel(candidate, false);
    if (verdict.action === 'block') return { refused: candidate, refusal: verdict.error };
    // A transcription socket's records name its deployment once one is allowed, never a model no list was asked about.
    if (!namesModelBehindDeployment || (model === null && !awaitingDeployment)) model = served;
    return { allowed: candidate };
  };

  /**
   * The request a model a Realtime or Gemini Live message names is decided on. On Azure a conversation session's model
   * is the one behind its deployment (the SDK's Azure sample names `gpt-4o-realtime-preview` on deployment
   * `gpt-4o-realtime-preview-1001`), as the server's is: decided as the server's (SERVER_MODEL_OPERATION: the key's
   * deny rules only, no deployment list could allow it). A transcription session's model is a deployment there, held
   * to the key's lists as the opening's is.
   */
  const namedModelRequest = (message: ReadMessage, named: string): NormalizedRequest => {
    const behindDeployment = namesModelBehindDeployment && !configuresTranscriptionSession(message.body);
    return request(behindDeployment ? SERVER_MODEL_OPERATION : message.name, { model: named });
  };

  /** One turn, decided and recorded as an HTTP Responses request is; a refusal is the API's error event. */
  const decideTurn = async (started: number, message: ReadMessage): Promise<MessageVerdict> => {
    const appends = message.name === 'response.append';
    if (appends && turnModel === undefined) {
      const text = 'Bifrost Edge: a response.append must follow a response.create on the same socket (it names the model); it was not sent';
      return refuse(started, { status: 400, type: 'invalid_request', message: text }, POLICY_VIOLATION, text);
    }
    const named = appends ? turnModel ?? null : message.model;
    const normalized = request(message.name, { model: named, texts: message.texts, tools: message.tools });
    const refuseTurn = async (error: EdgeError, fields: Partial<ExchangeRecord>): Promise<MessageVerdict> => {
      await record(started, { via: 'edge', decision: 'blocked', status: error.status, errorType: error.type, message: error.message, model: named, findings: [], ...fields });
      return { action: 'reply', data: Buffer.from(JSON.stringify(responsesErrorEvent(error))) };
    };
    const check = await checkTurn(normalized);
    /** The verdict hands the turn's place on to the relay, which says whether it was sent (handedOver). */
    let handedOn = false;
    try {
      const prompt = conversationTexts(message.texts).join('\n');
      if (check.verdict.action === 'block') return await refuseTurn(check.verdict.error, { prompt });
      const content = await inspectContent(message, normalized);
      if (content.blocked) return await refuseTurn(content.blocked, { findings: content.findings, prompt });
      const handedOver = async (outcome: HandOver): Promise<void> => {
        if (!outcome.sent) {
          check.settle();
          const text = notSentMessage(outcome.errorType, 'turn');
          await record(started, { decision: 'failed', errorType: outcome.errorType, message: text, model: named, findings: content.findings, prompt });
          return;
        }
        // Counted in the same synchronous step as the hand-over: no later decision sees the place still held.
        check.sent();
        // Sent: the turn holds its place in the key's windows until its answer ends (or the socket closes).
        if (usage) usage.turnSent(normalized, { settle: () => check.settle(), ...(check.abandoned ? { abandoned: () => check.abandoned!() } : {}) });
        else check.settle();
        if (!appends) turnModel = named;
        const decision = content.rewritten ? 'redacted' : content.flagged ? 'flagged' : 'forwarded';
        await record(started, { decision, model: named, findings: content.findings, prompt });
      };
      handedOn = true;
      return content.rewritten ? { action: 'forward', data: Buffer.from(JSON.stringify(content.body)), handedOver } : { action: 'forward', handedOver };
    } finally {
      if (!handedOn) check.settle();
    }
  };

  /** Input injected into the active response: its text decided, on the socket's turn model; nothing counted. */
  const decideInjection = async (started: number, message: ReadMessage): Promise<MessageVerdict> => {
    if (turnModel === undefined) {
      const text = 'Bifrost Edge: a response.inject must follow a response.create on the same socket (it names the model); it was not sent';
      return refuse(started, { status: 400, type: 'invalid_request', message: text }, POLICY_VIOLATION, text);
    }
    const normalized = request(message.name, { model: turnModel, texts: message.texts, tools: message.tools });
    const prompt = conversationTexts(message.texts).join('\n');
    const refuseInjection = async (error: EdgeError, fields: Partial<ExchangeRecord>): Promise<MessageVerdict> => {
      await record(started, { via: 'edge', decision: 'blocked', status: error.status, errorType: error.type, message: error.message, model: turnModel, findings: [], prompt, ...fields });
      return { action: 'reply', data: Buffer.from(JSON.stringify(responsesErrorEvent(error))) };
    };
    // No policy step: the model is the active response's, allowed with its response.create, and the key's request
    // windows hold that response's place (checked again, a key allowed one request would refuse its own response).
    const content = await inspectContent(message, normalized);
    if (content.blocked) return refuseInjection(content.blocked, { findings: content.findings });
    if (!content.rewritten && !content.flagged && content.findings.length === 0) return { action: 'forward' };
    await record(started, { decision: content.rewritten ? 'redacted' : content.flagged ? 'flagged' : 'forwarded', model: turnModel, findings: content.findings, prompt });
    return content.rewritten ? { action: 'forward', data: Buffer.from(JSON.stringify(content.body)) } : { action: 'forward' };
  };

  return {
    async inspect(data, isBinary) {
      const started = Date.now();
      const message = readClientMessage(socket.api, data, isBinary, deps.maxMessageBytes);
      if (message.kind === 'unreadable') {
        return refuse(started, { status: message.status, type: message.errorType, message: message.message }, message.code, message.message);
      }
      if (!setupAllowed && (message.kind !== 'json' || message.name !== 'setup')) {
        const text = setupFirstMessage(socket.api);
        return refuse(started, { status: 400, type: 'invalid_request', message: text }, POLICY_VIOLATION, text);
      }
      // Nothing the server would run or transcribe goes before the deployment is allowed: audio relayed with none would
      // run on a deployment no list was asked about, charged at no model's price.
      if (awaitingDeployment && (message.kind !== 'json' || !SESSION_CONFIGURATIONS.has(message.name))) {
        return refuse(started, { status: 400, type: 'invalid_request', message: AWAITING_DEPLOYMENT_MESSAGE }, POLICY_VIOLATION, AWAITING_DEPLOYMENT_MESSAGE);
      }
      if (message.kind === 'binary') return { action: 'forward' };
      if (message.turn) return decideTurn(started, message);
      if (message.name === 'response.inject') return decideInjection(started, message);

      // A model the session was already decided on (a client echoing the release its server named) is nothing new. An
      // Azure transcription session's model is a deployment: an echo of it only when an earlier decision held that name
      // to the key's lists, not when a conversation session.update or the server named it (deny rules only).
      const namesDeployment = namesModelBehindDeployment && configuresTranscriptionSession(message.body);
      const echoed = message.model !== null && socket.api === 'openai-realtime' && usage?.alreadyDecided(message.model, namesDeployment) === true;
      /** A Lyria RealTime setup just allowed naming a model not recorded last: recorded once handed over (goOn). */
      let recordsSetup = false;
      if (message.model !== null && !echoed) {
        const named = namedModelRequest(message, message.model);
        const verdict = await deps.checkModel(named, !setupAllowed);
        if (verdict.action === 'block') {
          return refuse(started, verdict.error, POLICY_VIOLATION, verdict.error.message, { model: message.model });
        }
        setupAllowed = true;
        if (namesDeployment) awaitingDeployment = false;
        // The GA API fixes a Realtime session's model at its opening (a session.update may change any field but the
        // voice and the model), while the beta protocol (Azure's preview route `/openai/realtime`) lets a session.update
        // change any field but the voice. Either way each model named is one more the session's usage may be charged
        // at, the dearest for each usage, so naming a cheaper one never lowers its price.
        if (usage && !usage.govern(named)) {
          return refuse(started, { status: 400, type: 'invalid_request', message: TOO_MANY_MODELS_MESSAGE }, POLICY_VIOLATION, TOO_MANY_MODELS_MESSAGE, { model: message.model });
        }
        // Until a deployment is allowed, a transcription socket's records name none: not a model behind one, which the
        // key's deny rules alone were asked about.
        if (!awaitingDeployment) model ??= message.model;
        // A Lyria RealTime session's model reaches the audit log nowhere else: its opening names none, and it reports
        // no usage to charge (Gemini Live's usage records name its model). So a setup is recorded once decided whole and
        // sent, when it names another model than the last one recorded (a second setup switching models is relayed
        // too), and the session's later records name the model of its last setup sent (handedOver below).
        if (socket.api === 'gemini-music') recordsSetup = message.model !== recordedSetupModel;
      }
      if (message.transcriptionModel !== undefined && message.transcriptionModel !== transcribing?.model) {
        // Held to the key's model rules as the session's own model is, and its transcriptions charged at its rates.
        const named = request(message.name, { model: message.transcriptionModel });
        const verdict = await deps.checkModel(named, false);
        if (verdict.action === 'block') {
          return refuse(started, verdict.error, POLICY_VIOLATION, verdict.error.message, { model: message.transcriptionModel });
        }
        transcribing = named;
        usage?.transcribeWith(named);
        // No deployment even when allowed: only a message configuring a transcription session names the one this
        // socket's session transcribes on (the model block above).
      }
      /**
       * The message goes on (`data`: rewritten). `fields`: its record, when a content step found something, written
       * before it goes on; a Lyria setup to record (recordsSetup) is recorded instead once handed over, as sent or not.
       */
      const goOn = async (fields?: Pick<ExchangeRecord, 'decision' | 'findings' | 'prompt'>, data?: Buffer): Promise<MessageVerdict> => {
        const forward: MessageVerdict = data ? { action: 'forward', data } : { action: 'forward' };
        if (!recordsSetup) {
          if (fields) await record(started, fields);
          return forward;
        }
        const sentRecord = fields ?? { decision: 'forwarded', findings: [] };
        const setupModel = message.model;
        const handedOver = async (outcome: HandOver): Promise<void> => {
          if (!outcome.sent) {
            const text = notSentMessage(outcome.errorType, 'setup');
            await record(started, { ...sentRecord, decision: 'failed', errorType: outcome.errorType, message: text, model: setupModel });
            return;
          }
          // Set in the same synchronous step as the hand-over: the next message is decided knowing it.
          recordedSetupModel = setupModel ?? undefined;
          model = setupModel;
          await record(started, { ...sentRecord, model: setupModel });
        };
        return { ...forward, handedOver };
      };
      if (message.texts.length === 0) return goOn();

      const content = await inspectContent(message, request(message.name, { texts: message.texts, tools: message.tools }));
      const { findings, prompt } = content;
      if (content.blocked) return refuse(started, content.blocked, POLICY_VIOLATION, blockReason(content.blocked, findings), { findings, prompt });
      if (!content.rewritten && !content.flagged && findings.length === 0) return goOn();
      const decision = content.rewritten ? 'redacted' : content.flagged ? 'flagged' : 'forwarded';
      return goOn({ decision, findings, prompt }, content.rewritten ? Buffer.from(JSON.stringify(content.body)) : undefined);
    },

    tooBigReason: tooBigMessage(deps.maxMessageBytes),

    async recordTooBig() {
      const text = tooBigMessage(deps.maxMessageBytes);
      await record(Date.now(), { via: 'edge', decision: 'blocked', status: 413, errorType: 'request_too_large', message: text, findings: [] });
    },

    serverMessage(data) {
      try {
        return usage?.serverMessage(data);
      } catch (err) {
        // A message Edge could not read is not metered; the relay never waits for, nor fails on, this.
        return Promise.reject(err as Error);
      }
    },

    watch(close) {
      if (!usage || !deps.policyChanges || unwatch) return;
      unwatch = deps.policyChanges(() => {
        void usage.recheck().then((verdict) => {
          if (verdict) close(verdict);
        });
      });
    },

    closed: () => {
      unwatch?.();
      return usage?.closed() ?? Promise.resolve();
    },
  };
}

/** Why a message before the setup is refused, on the APIs whose setup names the model. Short enough for a close frame. */
function setupFirstMessage(api: WebSocketApi): string {
  const session = api === 'gemini-music' ? 'Lyria RealTime' : 'Gemini Live';
  return `Bifrost Edge: a ${session} session must start with its setup message (naming the model); it was not sent`;
}

/** The messages that configure a Realtime session (a transcription session's among them), and run nothing. */
const SESSION_CONFIGURATIONS: ReadonlySet<string> = new Set(['session.update', 'transcription_session.update']);

/** Why a message on an Azure transcription socket is refused before its deployment is allowed. Short enough for a close frame. */
const AWAITING_DEPLOYMENT_MESSAGE = 'Bifrost Edge: name the transcription deployment first (input_audio_transcription or audio.input.transcription model)';

/**
 * What the client is told when a message is blocked: the types and rules found and where (never the text),
 * short enough for a close frame; the full message is in the audit record. Without findings (content safety
 * unavailable, text over the inspection limit), the step's own message.
 */
function blockReason(error: EdgeError, findings: Finding[]): string {
  const blocking = [...new Set(findings.filter((f) => f.action === 'block').map((f) => `${f.type} (${f.ruleId}) in ${f.location}`))];
  return blocking.length > 0 ? `Bifrost Edge blocked a message: ${blocking.join('; ')}` : error.message;
}
