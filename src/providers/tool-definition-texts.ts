import type { JsonObject } from './body-shape.js';
import { addStringLeaves, addStringsAndNamedKeys, addTool, newExtraction, type Extraction, type JsonPath } from './extraction.js';

/**
 * The text a tool definition puts in front of the model: its description and every string of its parameter
 * schema (property descriptions, enum values, defaults, examples, a custom tool's grammar). It leaves the
 * laptop like a prompt, and people paste credentials and customer data into it like a prompt ("calls the API
 * with key ...", "defaults to jane@..."), so the guardrails read it like one: each string is its own span at
 * its exact path, and a redaction rewrites only that string.
 *
 * A schema's property names are read too: the model reads `ignore_previous_instructions` or a pasted token as a
 * parameter's name as surely as in its description. Only names get a span, not JSON Schema's own keywords
 * (`type`, `properties`, `items`...: fixed words, in every schema many times). A name is no string of the body
 * the guardrails could rewrite (renamed, the parameter would no longer be the tool's), so its span points at the
 * object holding it, and a finding the policy would redact blocks instead (see addStringsAndKeys).
 *
 * A structured-output schema (the shape the answer must take) is read the same way, as `output_schema` texts:
 * its descriptions are instructions to the model as much as a tool's are.
 *
 * The spans of one definition share a group (see TextSpan.group): agents send the same tools on every turn.
 */

/** Chat Completions `function` and `custom` tools, the legacy `functions`, Responses, Realtime, Assistants, Mistral. */
export const OPENAI_TOOL_TEXT_FIELDS = ['description', 'parameters', 'format'] as const;
/** Responses `function` and `custom` tools: also a function's `output_schema`, the shape of what it returns. */
export const RESPONSES_TOOL_TEXT_FIELDS = [...OPENAI_TOOL_TEXT_FIELDS, 'output_schema'] as const;
/** A Responses `namespace` tool's own text (its tools are read as tools). */
export const NAMESPACE_TEXT_FIELDS = ['description'] as const;
/** A Responses `tool_search` tool, executed by the client: what it is for, and its parameter schema. */
export const TOOL_SEARCH_TEXT_FIELDS = ['description', 'parameters'] as const;
/** A Responses remote `mcp` tool: the server's description shown to the model (its URL, headers and token are not text). */
export const MCP_SERVER_TEXT_FIELDS = ['server_description'] as const;
/** A tool an MCP server listed (a Responses `mcp_list_tools` item). */
export const MCP_LISTED_TOOL_TEXT_FIELDS = ['description', 'input_schema'] as const;
/** Anthropic Messages tools (`input_examples`: example inputs of the beta tool-use examples). */
export const ANTHROPIC_TOOL_TEXT_FIELDS = ['description', 'input_schema', 'input_examples'] as const;
/** Gemini function declarations, in both the lowerCamel and the snake_case spelling Google accepts. */
export const GEMINI_TOOL_TEXT_FIELDS = [
  'description', 'parameters', 'parametersJsonSchema', 'parameters_json_schema', 'response', 'responseJsonSchema', 'response_json_schema',
] as const;

/**
 * JSON Schema's type names (Gemini writes them in capitals). A schema's `type` naming one of them holds nothing
 * of the user's, and every schema has several: left out, they would only fill the audit trail's prompt text.
 */
const SCHEMA_TYPE_NAMES: ReadonlySet<string> = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);

/** OpenAI's `response_format.json_schema` (Chat Completions) and `text.format` (Responses). */
export const OPENAI_OUTPUT_SCHEMA_FIELDS = ['description', 'schema'] as const;
/** Anthropic's `output_config.format` and the beta's `output_format`. */
export const ANTHROPIC_OUTPUT_SCHEMA_FIELDS = ['schema'] as const;
/** Gemini's `generationConfig`, in both spellings. */
export const GEMINI_OUTPUT_SCHEMA_FIELDS = ['responseSchema', 'response_schema', 'responseJsonSchema', 'response_json_schema'] as const;

/** A tool list's entry as an MCP server sends it (`tools/list`): what the client's model is told of each tool. */
export const MCP_TOOL_TEXT_FIELDS = ['title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

/** The fields above that hold a JSON schema (or example inputs, keyed by property name): their keys are read as names. */
const SCHEMA_FIELDS: ReadonlySet<string> = new Set([
  'parameters', 'output_schema', 'input_schema', 'input_examples', 'inputSchema', 'outputSchema',
  'parametersJsonSchema', 'parameters_json_schema', 'response', 'responseJsonSchema', 'response_json_schema',
  'schema', 'responseSchema', 'response_schema',
]);

/**
 * The keywords of JSON Schema (draft 4 to 2020-12) and of the OpenAPI schema Gemini takes (in both its spellings).
 * Every other key of a schema names something: a property, a definition, an extension the model reads anyway.
 */
const SCHEMA_KEYWORDS: ReadonlySet<string> = new Set([
  '$schema', '$id', 'id', '$ref', '$anchor', '$dynamicRef', '$dynamicAnchor', '$recursiveRef', '$recursiveAnchor', '$vocabulary', '$comment',
  '$defs', 'definitions', 'type', 'enum', 'const', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum',
  'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxContains', 'minContains', 'maxProperties',
  'minProperties', 'required', 'dependentRequired', 'allOf', 'anyOf', 'oneOf', 'not', 'if', 'then', 'else', 'dependentSchemas',
  'dependencies', 'prefixItems', 'items', 'additionalItems', 'contains', 'properties', 'patternProperties', 'additionalProperties',
  'propertyNames', 'unevaluatedItems', 'unevaluatedProperties', 'title', 'description', 'default', 'deprecated', 'readOnly',
  'writeOnly', 'examples', 'example', 'format', 'contentEncoding', 'contentMediaType', 'contentSchema', 'nullable',
  'discriminator', 'xml', 'externalDocs', 'propertyOrdering',
  'any_of', 'property_ordering', 'max_items', 'min_items', 'max_length', 'min_length', 'max_properties', 'min_properties',
]);

function isSchemaName(key: string): boolean {
  return !SCHEMA_KEYWORDS.has(key);
}

/** Every field a tool definition reader takes text from: a key that folds to one must be spelled exactly (json-key-folding.ts). */
export const TOOL_DEFINITION_TEXT_FIELDS: readonly string[] = [
  ...RESPONSES_TOOL_TEXT_FIELDS, ...NAMESPACE_TEXT_FIELDS, ...TOOL_SEARCH_TEXT_FIELDS, ...MCP_SERVER_TEXT_FIELDS, ...MCP_LISTED_TOOL_TEXT_FIELDS,
  ...ANTHROPIC_TOOL_TEXT_FIELDS, ...GEMINI_TOOL_TEXT_FIELDS,
];
/** Every field an output schema reader takes text from. */
export const OUTPUT_SCHEMA_TEXT_FIELDS: readonly string[] = [...OPENAI_OUTPUT_SCHEMA_FIELDS, ...ANTHROPIC_OUTPUT_SCHEMA_FIELDS, ...GEMINI_OUTPUT_SCHEMA_FIELDS];

/** Adds the strings under `fields` of the definition at `path` as `tool_definition` spans of one group. */
export function addToolDefinitionTexts(x: Extraction, definition: JsonObject, path: JsonPath, fields: readonly string[]): void {
  addDefinitionTexts(x, definition, path, fields, 'tool_definition');
}

/**
 * A tool that is not a function the client defines: a platform's hosted tool (web search, file search, Foundry's
 * `openapi` or `connected_agent`), or a type Edge does not know. Every string of it is read as `tool_definition` text
 * but its `type` and its `settings`, the keys the platform reads rather than the model (vector stores, connections,
 * URLs): a description, a spec or an agent's purpose is put in front of the model, and whatever a platform adds next
 * is not let through unread. Without settings (a type Edge does not know) its `name`, when a string, names a tool.
 * Shared by the Responses, Assistants and Realtime readers, so that one rule holds wherever an OpenAI-shaped API takes
 * tools.
 */
export function addOtherToolTexts(x: Extraction, tool: JsonObject, path: JsonPath, settings: ReadonlySet<string> | undefined): void {
  if (settings === undefined && typeof tool['name'] === 'string') addTool(x, [...path, 'name'], tool['name'], 'definition');
  const texts = Object.keys(tool).filter((key) => key !== 'type' && settings?.has(key) !== true);
  if (texts.length > 0) addToolDefinitionTexts(x, tool, path, texts);
}

/** Adds the strings under `fields` of the object at `path` (holding an output schema) as `output_schema` spans of one group. */
export function addOutputSchemaTexts(x: Extraction, holder: JsonObject, path: JsonPath, fields: readonly string[]): void {
  addDefinitionTexts(x, holder, path, fields, 'output_schema');
}

function addDefinitionTexts(x: Extraction, definition: JsonObject, path: JsonPath, fields: readonly string[], kind: 'tool_definition' | 'output_schema'): void {
  const found = newExtraction();
  for (const field of fields) {
    const value = definition[field];
    if (value === undefined) continue;
    if (SCHEMA_FIELDS.has(field)) addStringsAndNamedKeys(found, value, [...path, field], kind, isSchemaName);
    else addStringLeaves(found, value, [...path, field], kind);
  }
  const group = JSON.stringify(path);
  for (const span of found.texts) {
    if (!isSchemaTypeName(span.path, span.text)) x.texts.push({ ...span, group });
  }
}

/** `type: "object"`, or one entry of `type: ["string", "null"]`. */
function isSchemaTypeName(path: JsonPath, text: string): boolean {
  const key = path[path.length - 1];
  const named = key === 'type' || (typeof key === 'number' && path[path.length - 2] === 'type');
  return named && SCHEMA_TYPE_NAMES.has(text.toLowerCase());
}

/**
 * Keywords whose values a validator compares data against (allowed values, a pattern, required names, references):
 * changed, they no longer describe what the tool takes or returns, and a client that validates against the schema
 * (the MCP SDK does, for structured output) rejects the tool's own answers.
 */
const VALIDATED_VALUE_KEYWORDS: ReadonlySet<string> = new Set([
  'enum', 'const', 'pattern', 'required', 'dependentRequired', 'propertyNames', 'format', 'discriminator',
  '$ref', '$dynamicRef', '$recursiveRef', '$id', '$anchor', '$dynamicAnchor', '$schema',
]);

/** Keywords whose keys are names (a property called `enum` is no keyword). */
const NAME_MAP_KEYWORDS: ReadonlySet<unknown> = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas', 'dependencies']);

/**
 * For a string at `path` inside a schema (which starts at `path[schemaStart]`): the path of the schema object whose
 * validated-value keyword holds it, or undefined when it is description-like text that can be redacted in place.
 */
export function validatedValueHolder(path: JsonPath, schemaStart: number): JsonPath | undefined {
  for (let i = schemaStart; i < path.length; i++) {
    const key = path[i];
    if (typeof key === 'string' && VALIDATED_VALUE_KEYWORDS.has(key) && !NAME_MAP_KEYWORDS.has(path[i - 1])) return path.slice(0, i);
  }
  return undefined;
}
