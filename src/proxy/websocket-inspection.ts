import { randomUUID } from 'node:crypto';
import type { EdgeError } from '../edge-error.js';
import type { HttpRequestInfo, NormalizedRequest, ProviderName } from '../providers/types.js';
import type { ExchangeRecord } from './exchange.js';
import type { InspectionNotes, InspectionResult, RequestInspector } from './surface-resolution.js';
import { readClientMessage, tooBigMessage, type WebSocketApi } from './websocket-messages.js';
import { conversationTexts } from '../providers/conversation-texts.js';

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
  record: (record: ExchangeRecord) => Promise<void>;
  maxMessageBytes: number;
}

export type MessageVerdict =
  /** `data`: the message rewritten (redacted); absent, the message goes as it came. */
  | { action: 'forward'; data?: Buffer }
  | { action: 'close'; code: number; reason: string };

export interface WebSocketMessageInspector {
  /** Decides one whole client message. Called one message at a time, in order. */
  inspect(data: Buffer, isBinary: boolean): Promise<MessageVerdict>;
  /** What a client whose message is over the size limit is told. */
  readonly tooBigReason: string;
  /** Records a message `ws` refused for its size before it was whole. */
  recordTooBig(): Promise<void>;
}

const POLICY_VIOLATION = 1008;
type Finding = NonNullable<InspectionNotes['findings']>[number];

/**
 * Decides the client messages of a WebSocket like request bodies: a model a message names goes through the
 * policy step (the key's model rules), its text through the guardrails and the other content steps. A block
 * closes the socket with 1008 and a reason naming what was found (never the text); a redaction rewrites the
 * message before it goes on; a flag lets it go. Each finding and refusal is an audit record, written before
 * the message goes on or the socket closes. Gemini Live names its model only in its first message, `setup`:
 * nothing is relayed before that model is allowed.
 */
export function createWebSocketMessageInspector(deps: WebSocketMessageInspectorDeps): WebSocketMessageInspector {
  const { socket } = deps;
  let model = socket.model;
  let setupAllowed = socket.api !== 'gemini-live';

  const record = (started: number, fields: Pick<ExchangeRecord, 'decision' | 'findings'> & Partial<ExchangeRecord>) => deps.record({
    id: randomUUID(), method: 'GET', host: socket.host, path: socket.path, provider: socket.provider, model, app: socket.app,
    latencyMs: Date.now() - started, ...fields,
  });
  const refuse = async (started: number, error: Pick<EdgeError, 'status' | 'type' | 'message'>, code: number, reason: string, extra: Partial<ExchangeRecord> = {}): Promise<MessageVerdict> => {
    await record(started, { via: 'edge', decision: 'blocked', status: error.status, errorType: error.type, message: error.message, findings: [], ...extra });
    return { action: 'close', code, reason };
  };
  const request = (operation: string, fields: Partial<NormalizedRequest> = {}): NormalizedRequest => ({
    provider: socket.provider, adapter: 'websocket', operation, model, stream: true, texts: [], tools: [], inspected: true, ...fields,
  });

  return {
    async inspect(data, isBinary) {
      const started = Date.now();
      const message = readClientMessage(socket.api, data, isBinary, deps.maxMessageBytes);
      if (message.kind === 'unreadable') {
        return refuse(started, { status: message.status, type: message.errorType, message: message.message }, message.code, message.message);
      }
      if (!setupAllowed && (message.kind !== 'json' || message.name !== 'setup')) {
        const text = 'Bifrost Edge: a Gemini Live session must start with its setup message (naming the model); it was not sent';
        return refuse(started, { status: 400, type: 'invalid_request', message: text }, POLICY_VIOLATION, text);
      }
      if (message.kind === 'binary') return { action: 'forward' };

      if (message.model !== null) {
        const verdict = await deps.checkModel(request(message.name, { model: message.model }), !setupAllowed);
        if (verdict.action === 'block') {
          return refuse(started, verdict.error, POLICY_VIOLATION, verdict.error.message, { model: message.model });
        }
        model = message.model;
        setupAllowed = true;
      }
      if (message.texts.length === 0) return { action: 'forward' };

      const normalized = request(message.name, { texts: message.texts, tools: message.tools });
      const prompt = conversationTexts(message.texts).join('\n');
      const findings: Finding[] = [];
      let body = message.body;
      let rewritten = false;
      let flagged = false;
      for (const inspect of deps.contentInspectors()) {
        const verdict = await inspect({ request: normalized, body, info: socket.info, app: socket.app });
        if (verdict.notes?.findings) findings.push(...verdict.notes.findings);
        flagged ||= verdict.notes?.flagged === true;
        if (verdict.action === 'block') return refuse(started, verdict.error, POLICY_VIOLATION, blockReason(verdict.error, findings), { findings, prompt });
        if (verdict.action === 'rewrite') {
          body = verdict.body;
          rewritten = true;
        }
      }
      if (!rewritten && !flagged && findings.length === 0) return { action: 'forward' };
      await record(started, { decision: rewritten ? 'redacted' : flagged ? 'flagged' : 'forwarded', findings, prompt });
      return rewritten ? { action: 'forward', data: Buffer.from(JSON.stringify(body)) } : { action: 'forward' };
    },

    tooBigReason: tooBigMessage(deps.maxMessageBytes),

    async recordTooBig() {
      const text = tooBigMessage(deps.maxMessageBytes);
      await record(Date.now(), { via: 'edge', decision: 'blocked', status: 413, errorType: 'request_too_large', message: text, findings: [] });
    },
  };
}

/**
 * What the client is told when a message is blocked: the types and rules found and where (never the text),
 * short enough for a close frame; the full message is in the audit record. Without findings (content safety
 * unavailable, text over the inspection limit), the step's own message.
 */
function blockReason(error: EdgeError, findings: Finding[]): string {
  const blocking = [...new Set(findings.filter((f) => f.action === 'block').map((f) => `${f.type} (${f.ruleId}) in ${f.location}`))];
  return blocking.length > 0 ? `Bifrost Edge blocked a message: ${blocking.join('; ')}` : error.message;
}
