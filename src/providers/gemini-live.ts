import { expectArray, expectObject, expectString, optionalField, requiredString, type JsonObject } from './body-shape.js';
import { addStringLeaves, addText, addTool, newExtraction, type Extraction, type JsonPath } from './extraction.js';
import { fields, readContent, readGenerateRequest } from './gemini-content.js';
import { decodeInlineText, isTextualMimeType } from './gemini-inline-text.js';
import { setupModel } from './gemini-setup-model.js';
import type { TextSpan } from './types.js';

/**
 * The client messages of Gemini Live (`BidiGenerateContentClientMessage` over
 * `wss://generativelanguage.googleapis.com/ws/…GenerativeService.BidiGenerateContent`), as JSON text messages.
 * The first is `setup`, the only place the session names its model (`models/gemini-…`), with the system
 * instruction and tools; then `clientContent` (turns of Content), `realtimeInput` (text, and audio or video
 * blobs), `toolResponse` (function results). Both spellings Google's JSON accepts are read (`clientContent` /
 * `client_content`). A message with none of these has every string read: nothing new goes through unread.
 */

export type GeminiLiveMessageKind = 'setup' | 'clientContent' | 'realtimeInput' | 'toolResponse' | 'other';

export interface GeminiLiveReading {
  kind: GeminiLiveMessageKind;
  /**
   * The model `setup` names, without Google's `models/` prefix (as generateContent's path names it); else null. A name
   * a server may read as another model is refused (gemini-setup-model.ts).
   */
  model: string | null;
  extraction: Extraction;
}

const ROLE_KINDS: Record<string, TextSpan['kind']> = { user: 'user', model: 'assistant', function: 'tool_result' };

/** Reads one parsed client message; a malformed one throws a BodyShapeError naming the field. */
export function readGeminiLiveClientMessage(value: unknown): GeminiLiveReading {
  const message = expectObject(value, [], 'a Gemini Live client message object');
  const x = newExtraction();
  let kind: GeminiLiveMessageKind | undefined;
  let model: string | null = null;
  const seen = (found: GeminiLiveMessageKind) => { kind ??= found; };
  optionalField(message, 'setup', [], (setup, p) => {
    seen('setup');
    const body = expectObject(setup, p, 'a setup object');
    model = setupModel(requiredString(body, 'model', p), [...p, 'model']);
    readGenerateRequest(x, body, p, false);
  });
  for (const content of fields(message, 'clientContent', 'client_content')) {
    seen('clientContent');
    const body = expectObject(content.value, [content.key], 'a clientContent object');
    optionalField(body, 'turns', [content.key], (turns, p) => {
      expectArray(turns, p, 'an array of contents').forEach((turn, i) => {
        const role = optionalField(expectObject(turn, [...p, i], 'a content object'), 'role', [...p, i], expectString);
        readContent(x, turn, [...p, i], ROLE_KINDS[role ?? 'user'] ?? 'other');
      });
    });
  }
  for (const input of fields(message, 'realtimeInput', 'realtime_input')) {
    seen('realtimeInput');
    readRealtimeInput(x, expectObject(input.value, [input.key], 'a realtimeInput object'), [input.key]);
  }
  for (const response of fields(message, 'toolResponse', 'tool_response')) {
    seen('toolResponse');
    const body = expectObject(response.value, [response.key], 'a toolResponse object');
    for (const list of fields(body, 'functionResponses', 'function_responses')) {
      expectArray(list.value, [response.key, list.key], 'an array of function responses').forEach((value, i) => {
        const path = [response.key, list.key, i];
        const fn = expectObject(value, path, 'a function response object');
        optionalField(fn, 'name', path, (name, p) => addTool(x, p, expectString(name, p), 'result'));
        addStringLeaves(x, fn['response'], [...path, 'response'], 'tool_result');
      });
    }
  }
  if (kind === undefined) {
    for (const [key, child] of Object.entries(message)) addStringLeaves(x, child, [key], 'other');
  }
  return { kind: kind ?? 'other', model, extraction: x };
}

/** Realtime text, and audio, video or media blobs: a blob whose MIME type is text is read as the user's text. */
function readRealtimeInput(x: Extraction, input: JsonObject, path: JsonPath): void {
  optionalField(input, 'text', path, (text, p) => addText(x, p, expectString(text, p), 'user'));
  for (const key of ['audio', 'video']) {
    optionalField(input, key, path, (blob, p) => readTextualBlob(x, blob, p));
  }
  for (const chunks of fields(input, 'mediaChunks', 'media_chunks')) {
    expectArray(chunks.value, [...path, chunks.key], 'an array of blobs').forEach((blob, i) => readTextualBlob(x, blob, [...path, chunks.key, i]));
  }
}

function readTextualBlob(x: Extraction, value: unknown, path: JsonPath): void {
  const blob = expectObject(value, path, 'a blob object ({"mimeType", "data"})');
  const textual = fields(blob, 'mimeType', 'mime_type').some((mime) => typeof mime.value === 'string' && isTextualMimeType(mime.value));
  if (textual) optionalField(blob, 'data', path, (data, p) => addText(x, p, decodeInlineText(expectString(data, p, 'a base64 string')), 'user'));
}
