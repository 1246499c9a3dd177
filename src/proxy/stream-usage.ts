import type { IncomingHttpHeaders } from 'node:http';
import type { Transform } from 'node:stream';
import { isJsonObject } from '../providers/body-shape.js';
import type { NormalizedRequest } from '../providers/types.js';
import { eventData, SseEventTransform } from '../util/sse-event-transform.js';

/**
 * OpenAI-style streamed chat completions, and legacy completions, report token usage only when the
 * client asks for it (`stream_options.include_usage`), and most clients do not: such a stream could not
 * be charged to the key's local token and spend limits, so it was free. Edge asks on the client's
 * behalf, and takes the usage-only event it asked for back out of the stream, so the client gets the
 * stream it requested.
 */

/** The operations whose streams report usage only when asked (same rule, same usage-only last event). */
const USAGE_ON_REQUEST: ReadonlySet<string> = new Set(['chat.completions', 'completions']);

/** The request body with usage asked for, or undefined when it needs no change (or is not such a stream). */
export function withStreamUsageRequested(request: NormalizedRequest, body: unknown): Record<string, unknown> | undefined {
  if (request.adapter !== 'openai-compatible' || !USAGE_ON_REQUEST.has(request.operation) || !request.stream) return undefined;
  if (!isJsonObject(body)) return undefined;
  const options = body['stream_options'];
  // Asked for already, or not an object Edge could add to (the provider answers that mistake itself).
  if (options !== undefined && options !== null && !isJsonObject(options)) return undefined;
  if (isJsonObject(options) && options['include_usage'] === true) return undefined;
  return { ...body, stream_options: { ...(isJsonObject(options) ? options : {}), include_usage: true } };
}

/** The first Azure OpenAI api-version that accepts `stream_options` (earlier ones answer 400 "Unrecognized request argument"). */
const AZURE_STREAM_OPTIONS_SINCE = '2024-09-01';

/**
 * Whether the server the request goes to accepts `stream_options`: not an Azure OpenAI resource addressed with a dated
 * api-version older than AZURE_STREAM_OPTIONS_SINCE (asking would break the app's stream; it is charged Edge's
 * estimate instead). Bifrost and every other provider take it.
 */
export function acceptsStreamOptions(provider: string, via: 'gateway' | 'passthrough' | 'origin', path: string): boolean {
  if (provider !== 'azure' || via === 'gateway') return true;
  const query = path.includes('?') ? path.slice(path.indexOf('?') + 1) : '';
  const dated = /^(\d{4}-\d{2}-\d{2})/.exec(new URLSearchParams(query).get('api-version') ?? '');
  return dated === null || dated[1]! >= AZURE_STREAM_OPTIONS_SINCE;
}

/** A stream that drops the usage-only event, or undefined when the answer is not a plain event stream. */
export function createUsageEventStripper(headers: IncomingHttpHeaders, maxEventChars: number): Transform | undefined {
  const type = String(headers['content-type'] ?? '').toLowerCase();
  const encoding = String(headers['content-encoding'] ?? '').trim().toLowerCase();
  // An error answer (JSON) or a compressed stream passes as it came: the client then sees one extra event at worst.
  if (!type.startsWith('text/event-stream') || (encoding !== '' && encoding !== 'identity')) return undefined;
  return new UsageEventStripper(maxEventChars);
}

/** Drops `{"choices": [], "usage": {...}}`; every other event keeps its exact bytes. */
class UsageEventStripper extends SseEventTransform {
  protected override rewrite(block: string): string {
    const data = eventData(block);
    // Cheap test first: most events are content deltas.
    if (data === undefined || !data.includes('"usage"')) return block;
    try {
      const parsed = JSON.parse(data) as unknown;
      const usageOnly = isJsonObject(parsed) && Array.isArray(parsed['choices']) && parsed['choices'].length === 0 && isJsonObject(parsed['usage']);
      return usageOnly ? '' : block;
    } catch {
      return block;
    }
  }

  protected override onOversizeEvent(): { then: 'pass-event' } {
    // Not a usage event (those are small): it passes unread, and the events after it are read again, since the
    // usage-only event Edge asked for comes last, after whatever large event the answer held.
    return { then: 'pass-event' };
  }
}
