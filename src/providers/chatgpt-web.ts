import { parseWithReaders, type ProviderAdapter, type RouteMatch } from './adapter.js';
import { expectArray, expectObject, expectString, optionalField, optionalModel, type JsonObject } from './body-shape.js';
import type { SurfaceEntry } from './catalog.js';
import { webErrorBody } from './error-bodies.js';
import { errorResponse } from './error-response.js';
import { addText, newExtraction, type BodyReading } from './extraction.js';
import { locateRequest } from './route-path.js';
import type { HttpRequestInfo, TextSpan } from './types.js';

/**
 * ChatGPT in the browser and desktop app (chatgpt.com). Only the send-a-message call is read:
 * `POST /backend-api/conversation` (and `/backend-api/f/conversation`, the newer client's path), and the
 * same under `/backend-anon/` when nobody is signed in (no account is no reason to go unread). The page's
 * many other calls are not recognised, and the catalog lets them pass. Answers always stream.
 */

const CONVERSATION_PATHS: ReadonlySet<string> = new Set([
  '/backend-api/conversation', '/backend-api/f/conversation',
  '/backend-anon/conversation', '/backend-anon/f/conversation',
]);
const ROLE_KINDS: Record<string, TextSpan['kind']> = { user: 'user', system: 'system', assistant: 'assistant', tool: 'tool_result' };

function recognize(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  const location = locateRequest(req, entry.pathPrefixes);
  if (location === undefined || location.method !== 'POST' || !CONVERSATION_PATHS.has(location.pathname)) return undefined;
  return { ...location, operation: 'conversation', inspected: true, stream: true };
}

/**
 * `messages[i].content.parts[j]`: strings are typed text; objects are attachments (image pointers) stored
 * elsewhere. Code and execution-output contents carry their text in `content.text` instead.
 */
function readConversation(body: JsonObject): BodyReading {
  const x = newExtraction();
  optionalField(body, 'messages', [], (messages, p) => {
    expectArray(messages, p, 'an array of messages').forEach((value, i) => {
      const path = [...p, i];
      const message = expectObject(value, path, 'a message object');
      const author = optionalField(message, 'author', path, (a, ap) => expectObject(a, ap));
      const role = author ? optionalField(author, 'role', [...path, 'author'], expectString) : undefined;
      const kind = ROLE_KINDS[role ?? 'user'] ?? 'other';
      const content = optionalField(message, 'content', path, (c, cp) => expectObject(c, cp));
      if (content === undefined) return;
      optionalField(content, 'parts', [...path, 'content'], (parts, pp) => {
        expectArray(parts, pp, 'an array of parts').forEach((part, j) => {
          if (typeof part === 'string') addText(x, [...pp, j], part, kind);
        });
      });
      optionalField(content, 'text', [...path, 'content'], (text, tp) => addText(x, tp, expectString(text, tp), kind));
    });
  });
  return { model: optionalModel(body), stream: true, extraction: x };
}

export const chatGptWebAdapter: ProviderAdapter = {
  id: 'chatgpt-web',
  recognize,
  parse: parseWithReaders('chatgpt-web', { conversation: readConversation }),
  errorResponse: (err, opts) => errorResponse(err, webErrorBody(err), { kind: 'data' }, opts),
};
