import { BodyShapeError } from '../providers/body-shape.js';
import { readGeminiMusicClientMessage } from '../providers/gemini-music.js';
import { readClientMessage, type ClientMessage, type WebSocketApi } from './websocket-messages.js';

/** RFC 6455's close code for policy, as readClientMessage closes a message of the wrong shape. */
const POLICY_VIOLATION = 1008;

/**
 * Reads one client message of a socket Edge reads: readClientMessage's checks (size, JSON, binary frames, keys given
 * twice or differing in case) and its reader, but a Lyria RealTime message read by its own reader (gemini-music.ts).
 * readClientMessage reads every API but the OpenAI ones as Gemini Live; its Live reading of a Lyria message is
 * replaced here, so weighted prompts are read as the user's text. A Lyria message of the wrong shape is refused as
 * readClientMessage refuses one, in the same words.
 */
export function readSocketClientMessage(api: WebSocketApi, data: Buffer, isBinary: boolean, maxBytes: number): ClientMessage {
  const read = readClientMessage(api, data, isBinary, maxBytes);
  if (api !== 'gemini-music' || read.kind !== 'json') return read;
  try {
    const message = readGeminiMusicClientMessage(read.body);
    return { kind: 'json', body: read.body, name: message.kind, model: message.model, turn: false, ...message.extraction };
  } catch (err) {
    if (!(err instanceof BodyShapeError)) throw err;
    const where = err.path.length === 0 ? 'the message' : `the message's ${err.message}`;
    const what = err.path.length === 0 ? `${where} ${err.problem}` : where;
    return { kind: 'unreadable', code: POLICY_VIOLATION, status: 400, errorType: 'invalid_request', message: `Bifrost Edge: ${what}; it was not sent` };
  }
}
