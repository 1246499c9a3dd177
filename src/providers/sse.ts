/** Server-sent event framing (WHATWG HTML §9.2): one event, terminated by a blank line. */

/** `data: {...}\n\n`, the dialect of OpenAI-compatible and Gemini (`alt=sse`) streams. */
export function sseData(payload: unknown): string {
  return sseFrame(undefined, JSON.stringify(payload));
}

/** `event: error\ndata: {...}\n\n`, the dialect of Anthropic streams. */
export function sseNamedEvent(event: string, payload: unknown): string {
  return sseFrame(event, JSON.stringify(payload));
}

function sseFrame(event: string | undefined, data: string): string {
  // A newline inside data would end the field early; each line becomes its own data field.
  const dataLines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join('');
  return `${event !== undefined ? `event: ${event.replace(/[\r\n]/g, '')}\n` : ''}${dataLines}\n`;
}

export const SSE_CONTENT_TYPE = 'text/event-stream';
