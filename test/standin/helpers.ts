/** Shared bits of the stand-in tests: the OpenAPI subset, a schema assertion, HTTP and SSE readers. */
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

import { checkSchema, componentSchema, loadOpenApi, responseSchema, type JsonSchema } from '../support/standin-openapi-check.js';

/** A copy of shared/reference/bifrost-openapi-subset.json (Bifrost's published spec, Apache-2.0). */
export const spec = loadOpenApi(fileURLToPath(new URL('./fixtures/bifrost-openapi-subset.json', import.meta.url)));

export function schemaOf(path: string, method: string, status = '200', contentType = 'application/json'): JsonSchema {
  return responseSchema(spec, path, method, status, contentType);
}

export function component(name: string): JsonSchema {
  return componentSchema(spec, name);
}

export function expectFits(value: unknown, schema: JsonSchema): void {
  expect(checkSchema(spec, schema, value)).toEqual([]);
}

export interface JsonReply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonReply> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const h = init.headers as Record<string, string>;
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  }
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export interface SseEvent {
  /** ms since the request was sent. */
  at: number;
  event?: string;
  data: string;
}

/** Sends a request and reads its SSE answer event by event, stamping when each event arrived. */
export async function streamEvents(url: string, init: RequestInit): Promise<{ status: number; headers: Headers; events: SseEvent[] }> {
  const start = performance.now();
  const res = await fetch(url, init);
  const events: SseEvent[] = [];
  if (!res.body) return { status: res.status, headers: res.headers, events };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const at = performance.now() - start;
    buffer += decoder.decode(value, { stream: true });
    let cut: RegExpExecArray | null;
    while ((cut = /\r?\n\r?\n/.exec(buffer))) {
      const block = buffer.slice(0, cut.index);
      buffer = buffer.slice(cut.index + cut[0].length);
      const ev: SseEvent = { at, data: '' };
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) ev.event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      ev.data = data.join('\n');
      events.push(ev);
    }
  }
  return { status: res.status, headers: res.headers, events };
}

/** Reads a response body piece by piece, stamping each piece's arrival. */
export async function rawPieces(url: string, init: RequestInit): Promise<{ status: number; headers: Headers; pieces: Array<{ at: number; text: string }> }> {
  const start = performance.now();
  const res = await fetch(url, init);
  const pieces: Array<{ at: number; text: string }> = [];
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    if (!reader) break;
    const { value, done } = await reader.read();
    if (done) break;
    pieces.push({ at: performance.now() - start, text: decoder.decode(value, { stream: true }) });
  }
  return { status: res.status, headers: res.headers, pieces };
}

export const VK = 'sk-bf-test-alice';

export function jsonHeaders(vk: string | null = VK, extra: Record<string, string> = {}): Record<string, string> {
  return { 'content-type': 'application/json', ...(vk ? { 'x-bf-vk': vk } : {}), ...extra };
}
