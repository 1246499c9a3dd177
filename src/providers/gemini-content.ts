import { expectArray, expectObject, expectString, isJsonObject, optionalField, requiredArray, requiredString, type JsonObject } from './body-shape.js';
import { addStringLeaves, addText, addTool, type Extraction, type JsonPath } from './extraction.js';
import { decodeInlineText, isTextualMimeType } from './gemini-inline-text.js';
import { addOutputSchemaTexts, addToolDefinitionTexts, GEMINI_OUTPUT_SCHEMA_FIELDS, GEMINI_TOOL_TEXT_FIELDS } from './tool-definition-texts.js';
import type { TextSpan } from './types.js';

/**
 * Gemini's request content: a generateContent-shaped request (contents, system instruction, tools) and its
 * Content and Part objects, read wherever they appear (generateContent, countTokens, cachedContents, batches).
 * Google's JSON accepts both lowerCamel and snake_case field names (`systemInstruction` / `system_instruction`),
 * so both are read, each under the name actually sent. Tool paths point at `name` inside
 * `functionDeclarations`, `functionCall` and `functionResponse`; a declaration's description and schemas are
 * `tool_definition` texts.
 */

/**
 * The values under the lowerCamel and the snake_case spelling of a field, each with its key. Both, when a body
 * sends both: which one Google keeps is not documented, so neither may go unread.
 */
export function fields(obj: JsonObject, camel: string, snake: string): Array<{ key: string; value: unknown }> {
  return [camel, snake].filter((key) => obj[key] !== undefined && obj[key] !== null).map((key) => ({ key, value: obj[key] }));
}

const ROLE_KINDS: Record<string, TextSpan['kind']> = { user: 'user', model: 'assistant', function: 'tool_result' };

/** A generateContent-shaped request (also nested in countTokens' `generateContentRequest` and in batches). */
export function readGenerateRequest(x: Extraction, body: JsonObject, path: JsonPath, contentsRequired: boolean): void {
  for (const system of fields(body, 'systemInstruction', 'system_instruction')) readContent(x, system.value, [...path, system.key], 'system');
  const contents = contentsRequired ? requiredArray(body, 'contents', path, 'an array of contents') : optionalField(body, 'contents', path, (v, p) => expectArray(v, p, 'an array of contents'));
  contents?.forEach((content, i) => {
    const contentPath = [...path, 'contents', i];
    const role = optionalField(expectObject(content, contentPath, 'a content object'), 'role', contentPath, expectString);
    // A content without a role is the user's turn (single-turn requests usually omit it).
    readContent(x, content, contentPath, ROLE_KINDS[role ?? 'user'] ?? 'other');
  });
  optionalField(body, 'tools', path, (tools, p) => {
    expectArray(tools, p, 'an array of tools').forEach((value, i) => {
      const tool = expectObject(value, [...p, i], 'a tool object');
      for (const declarations of fields(tool, 'functionDeclarations', 'function_declarations')) {
        expectArray(declarations.value, [...p, i, declarations.key], 'an array of function declarations').forEach((decl, j) => {
          const declPath = [...p, i, declarations.key, j];
          const declaration = expectObject(decl, declPath, 'a function declaration object');
          addTool(x, [...declPath, 'name'], requiredString(declaration, 'name', declPath), 'definition');
          addToolDefinitionTexts(x, declaration, declPath, GEMINI_TOOL_TEXT_FIELDS);
        });
      }
    });
  });
  // The schema a structured answer must follow, descriptions included.
  for (const config of fields(body, 'generationConfig', 'generation_config')) {
    if (isJsonObject(config.value)) addOutputSchemaTexts(x, config.value, [...path, config.key], GEMINI_OUTPUT_SCHEMA_FIELDS);
  }
}

/** A Content: `{role?, parts: [...]}`. */
export function readContent(x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  const content = expectObject(value, path, 'a content object ({"parts": [...]})');
  optionalField(content, 'parts', path, (parts, p) => {
    expectArray(parts, p, 'an array of parts').forEach((part, j) => readPart(x, part, [...p, j], kind));
  });
}

/**
 * A Part. Besides `text`, prompt text travels in function calls and results, in code (`executableCode.code`, which
 * a client may send in any turn) and its output (`codeExecutionResult.output`), and in files attached inline.
 */
function readPart(x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  const part = expectObject(value, path, 'a part object');
  optionalField(part, 'text', path, (text, p) => addText(x, p, expectString(text, p), kind));
  for (const call of fields(part, 'functionCall', 'function_call')) {
    const callPath = [...path, call.key];
    const fn = expectObject(call.value, callPath);
    addTool(x, [...callPath, 'name'], requiredString(fn, 'name', callPath), 'call');
    addStringLeaves(x, fn['args'], [...callPath, 'args'], 'tool_arguments');
  }
  for (const response of fields(part, 'functionResponse', 'function_response')) {
    const responsePath = [...path, response.key];
    const fn = expectObject(response.value, responsePath);
    addTool(x, [...responsePath, 'name'], requiredString(fn, 'name', responsePath), 'result');
    addStringLeaves(x, fn['response'], [...responsePath, 'response'], 'tool_result');
  }
  for (const code of fields(part, 'executableCode', 'executable_code')) readNestedText(x, code, 'code', path, kind);
  for (const result of fields(part, 'codeExecutionResult', 'code_execution_result')) readNestedText(x, result, 'output', path, kind);
  for (const inline of fields(part, 'inlineData', 'inline_data')) readInlineText(x, inline, path, kind);
}

/** The string under `key` in a part's sub-object (`executableCode.code`), when present. */
function readNestedText(x: Extraction, sub: { key: string; value: unknown }, key: string, partPath: JsonPath, kind: TextSpan['kind']): void {
  const subPath = [...partPath, sub.key];
  optionalField(expectObject(sub.value, subPath), key, subPath, (text, p) => addText(x, p, expectString(text, p), kind));
}

/**
 * An inline file (`{mimeType, data}`, base64) whose MIME type is text: decoded and read as the turn's text. Its span
 * points at the base64 `data`, which does not contain the decoded text, so a finding that policy redacts there
 * cannot be rewritten in place and the guardrails block the request instead (they fail closed).
 */
function readInlineText(x: Extraction, inline: { key: string; value: unknown }, partPath: JsonPath, kind: TextSpan['kind']): void {
  const inlinePath = [...partPath, inline.key];
  const blob = expectObject(inline.value, inlinePath);
  const textual = fields(blob, 'mimeType', 'mime_type').some((mime) => typeof mime.value === 'string' && isTextualMimeType(mime.value));
  if (!textual) return;
  optionalField(blob, 'data', inlinePath, (data, p) => addText(x, p, decodeInlineText(expectString(data, p, 'a base64 string')), kind));
}
