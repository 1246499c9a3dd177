import { parseWithReaders, type ProviderAdapter, type RouteMatch } from './adapter.js';
import { expectArray, expectObject, expectString, optionalField, optionalModel, type JsonObject } from './body-shape.js';
import type { SurfaceEntry } from './catalog.js';
import { webErrorBody } from './error-bodies.js';
import { errorResponse } from './error-response.js';
import { addText, addTool, newExtraction, type BodyReading } from './extraction.js';
import { locateRequest, operationSegments } from './route-path.js';
import type { HttpRequestInfo } from './types.js';

/**
 * Claude in the browser and desktop app (claude.ai):
 * `POST /api/organizations/{org}/chat_conversations/{conversation}/completion`, answered over SSE.
 * The typed `prompt` and the text the page extracted from attached files (`attachments[i].extracted_content`)
 * are read; the model is present only when the user picked one.
 */

function recognize(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  const location = locateRequest(req, entry.pathPrefixes);
  if (location === undefined || location.method !== 'POST') return undefined;
  const [api, organizations, org, conversations, conversation, completion, ...rest] = operationSegments(location);
  const isCompletion = api === 'api' && organizations === 'organizations' && !!org && conversations === 'chat_conversations'
    && !!conversation && completion === 'completion' && rest.length === 0;
  return isCompletion ? { ...location, operation: 'completion', inspected: true, stream: true } : undefined;
}

function readCompletion(body: JsonObject): BodyReading {
  const x = newExtraction();
  optionalField(body, 'prompt', [], (prompt, p) => addText(x, p, expectString(prompt, p), 'user'));
  optionalField(body, 'attachments', [], (attachments, p) => {
    expectArray(attachments, p, 'an array of attachments').forEach((value, i) => {
      const attachment = expectObject(value, [...p, i], 'an attachment object');
      optionalField(attachment, 'extracted_content', [...p, i], (text, tp) => addText(x, tp, expectString(text, tp), 'user'));
    });
  });
  // Tools the page enables (web search, artifacts, connectors); entries without a name are skipped.
  optionalField(body, 'tools', [], (tools, p) => {
    expectArray(tools, p, 'an array of tools').forEach((value, i) => {
      const tool = expectObject(value, [...p, i], 'a tool object');
      if (typeof tool['name'] === 'string') addTool(x, [...p, i, 'name'], tool['name'], 'definition');
    });
  });
  return { model: optionalModel(body), stream: true, extraction: x };
}

export const claudeWebAdapter: ProviderAdapter = {
  id: 'claude-web',
  recognize,
  parse: parseWithReaders('claude-web', { completion: readCompletion }),
  errorResponse: (err, opts) => errorResponse(err, webErrorBody(err), { kind: 'named', event: 'error' }, opts),
};
