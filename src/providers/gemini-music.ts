import { expectArray, expectObject, expectString, requiredString, type JsonObject } from './body-shape.js';
import { addStringLeaves, addText, newExtraction, type Extraction, type JsonPath } from './extraction.js';
import { fields } from './gemini-content.js';
import { setupModel } from './gemini-setup-model.js';

/**
 * The client messages of Gemini's Lyria RealTime music generation (`BidiGenerateMusicClientMessage` over
 * `wss://generativelanguage.googleapis.com/ws/…GenerativeService.BidiGenerateMusic`), as JSON text messages. The
 * first is `setup`, the only place the session names its model (`models/lyria-realtime-exp`); then `clientContent`
 * (`weightedPrompts`: `[{text, weight}]`, the user's words steering the music), `musicGenerationConfig` (numbers and
 * enums: bpm, scale, ...) and `playbackControl` (PLAY, PAUSE, STOP, RESET_CONTEXT). Both spellings Google's JSON
 * accepts are read (`clientContent` / `client_content`). Unlike Gemini Live's reader, every string this reader does
 * not take for a prompt is read too, in whatever message: the API is young (v1alpha), and a field it adds must not
 * go out unread.
 */

export type GeminiMusicMessageKind = 'setup' | 'clientContent' | 'musicGenerationConfig' | 'playbackControl' | 'other';

export interface GeminiMusicReading {
  kind: GeminiMusicMessageKind;
  /** The model `setup` names, without Google's `models/` prefix (as Gemini Live's reader strips it); else null. */
  model: string | null;
  extraction: Extraction;
}

/** The messages, in the order a message holding several is named by (setup first, as Gemini Live's reader does). */
const MESSAGE_KINDS: ReadonlyArray<{ kind: Exclude<GeminiMusicMessageKind, 'other'>; camel: string; snake: string }> = [
  { kind: 'setup', camel: 'setup', snake: 'setup' },
  { kind: 'clientContent', camel: 'clientContent', snake: 'client_content' },
  { kind: 'musicGenerationConfig', camel: 'musicGenerationConfig', snake: 'music_generation_config' },
  { kind: 'playbackControl', camel: 'playbackControl', snake: 'playback_control' },
];

/** Reads one parsed client message; a malformed one throws a BodyShapeError naming the field. */
export function readGeminiMusicClientMessage(value: unknown): GeminiMusicReading {
  const message = expectObject(value, [], 'a Lyria RealTime client message object');
  const x = newExtraction();
  let kind: GeminiMusicMessageKind | undefined;
  let model: string | null = null;
  const known = new Set<string>();
  for (const entry of MESSAGE_KINDS) {
    for (const field of fields(message, entry.camel, entry.snake)) {
      // `setup` has one spelling: fields() names it twice.
      if (known.has(field.key)) continue;
      kind ??= entry.kind;
      known.add(field.key);
      const path = [field.key];
      if (entry.kind === 'setup') model = readSetup(x, field.value, path);
      else if (entry.kind === 'clientContent') readClientContent(x, field.value, path);
      // Numbers and enums, but read whole: an enum is a string too, and a later field may carry words.
      else addStringLeaves(x, field.value, path, 'other');
    }
  }
  for (const [key, child] of Object.entries(message)) {
    if (!known.has(key)) addStringLeaves(x, child, [key], 'other');
  }
  return { kind: kind ?? 'other', model, extraction: x };
}

/** The setup's model (one a server may read as another is refused: gemini-setup-model.ts); any other field it has is read as text. */
function readSetup(x: Extraction, value: unknown, path: JsonPath): string {
  const setup = expectObject(value, path, 'a setup object');
  const model = setupModel(requiredString(setup, 'model', path), [...path, 'model']);
  readOtherFields(x, setup, path, ['model']);
  return model;
}

/** Weighted prompts: each one's text is the user's; the rest of the message is read as other text. */
function readClientContent(x: Extraction, value: unknown, path: JsonPath): void {
  const content = expectObject(value, path, 'a clientContent object');
  const lists = fields(content, 'weightedPrompts', 'weighted_prompts');
  for (const list of lists) {
    const listPath = [...path, list.key];
    expectArray(list.value, listPath, 'an array of weighted prompts').forEach((item, i) => {
      const promptPath = [...listPath, i];
      const prompt = expectObject(item, promptPath, 'a weighted prompt object ({"text", "weight"})');
      if (prompt['text'] !== undefined && prompt['text'] !== null) addText(x, [...promptPath, 'text'], expectString(prompt['text'], [...promptPath, 'text']), 'user');
      readOtherFields(x, prompt, promptPath, ['text']);
    });
  }
  readOtherFields(x, content, path, lists.map((list) => list.key));
}

function readOtherFields(x: Extraction, obj: JsonObject, path: JsonPath, read: readonly string[]): void {
  for (const [key, child] of Object.entries(obj)) {
    if (!read.includes(key)) addStringLeaves(x, child, [...path, key], 'other');
  }
}
