import { expectArray, expectObject, expectString, optionalField, requiredArray, requiredString, type JsonObject } from './body-shape.js';
import { addStringLeaves, addText, addTool, type Extraction, type JsonPath } from './extraction.js';
import type { TextSpan } from './types.js';

/**
 * Gemini's request content: a generateContent-shaped request (contents, system instruction, tools) and its
 * Content and Part objects, read wherever they appear (generateContent, countTokens, cachedContents, batches).
 * Google's JSON accepts both lowerCamel and snake_case field names (`systemInstruction` / `system_instruction`),
 * so both are read and paths use the name actually sent. Tool paths point at `name` inside
 * `functionDeclarations`, `functionCall` and `functionResponse`.
 */

/** The value under the lowerCamel or snake_case spelling of a field, with the key actually used. */
export function field(obj: JsonObject, camel: string, snake: string): { key: string; value: unknown } | undefined {
  for (const key of [camel, snake]) {
    if (obj[key] !== undefined && obj[key] !== null) return { key, value: obj[key] };
  }
  return undefined;
}

const ROLE_KINDS: Record<string, TextSpan['kind']> = { user: 'user', model: 'assistant', function: 'tool_result' };

/** A generateContent-shaped request (also nested in countTokens' `generateContentRequest` and in batches). */
export function readGenerateRequest(x: Extraction, body: JsonObject, path: JsonPath, contentsRequired: boolean): void {
  const system = field(body, 'systemInstruction', 'system_instruction');
  if (system !== undefined) readContent(x, system.value, [...path, system.key], 'system');
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
      const declarations = field(tool, 'functionDeclarations', 'function_declarations');
      if (declarations === undefined) return;
      expectArray(declarations.value, [...p, i, declarations.key], 'an array of function declarations').forEach((decl, j) => {
        const declPath = [...p, i, declarations.key, j];
        addTool(x, [...declPath, 'name'], requiredString(expectObject(decl, declPath, 'a function declaration object'), 'name', declPath), 'definition');
      });
    });
  });
}

/** A Content: `{role?, parts: [...]}`. */
export function readContent(x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  const content = expectObject(value, path, 'a content object ({"parts": [...]})');
  optionalField(content, 'parts', path, (parts, p) => {
    expectArray(parts, p, 'an array of parts').forEach((part, j) => readPart(x, part, [...p, j], kind));
  });
}

function readPart(x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  const part = expectObject(value, path, 'a part object');
  optionalField(part, 'text', path, (text, p) => addText(x, p, expectString(text, p), kind));
  const call = field(part, 'functionCall', 'function_call');
  if (call !== undefined) {
    const callPath = [...path, call.key];
    const fn = expectObject(call.value, callPath);
    addTool(x, [...callPath, 'name'], requiredString(fn, 'name', callPath), 'call');
    addStringLeaves(x, fn['args'], [...callPath, 'args'], 'tool_arguments');
  }
  const response = field(part, 'functionResponse', 'function_response');
  if (response !== undefined) {
    const responsePath = [...path, response.key];
    const fn = expectObject(response.value, responsePath);
    addTool(x, [...responsePath, 'name'], requiredString(fn, 'name', responsePath), 'result');
    addStringLeaves(x, fn['response'], [...responsePath, 'response'], 'tool_result');
  }
}
