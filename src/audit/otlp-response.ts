/**
 * Reading the body of a 2xx answer to an OTLP/HTTP JSON export, which decides whether the records
 * count as exported. The spec has the collector answer an ExportLogsServiceResponse in the request's
 * encoding (JSON here), so a web page (an endpoint pointed at a UI, a sign-in or captive portal) took
 * nothing, however 200 its status. An empty body is accepted: it is the protobuf encoding of an empty
 * response, and Loki and Grafana Cloud answer 204 with none (the OTel SDKs and the Collector's
 * exporter accept it for that reason).
 */
export type OtlpExportAnswer =
  | {
    accepted: true;
    /** partialSuccess.rejectedLogRecords: records the collector took the batch without, for good. */
    rejected: number;
    /** partialSuccess.errorMessage: why, or a warning about a full success ('' when none). */
    message: string;
  }
  | {
    accepted: false;
    /** What the body was instead, for "answered HTTP 200 <problem>". */
    problem: string;
  };

export function readOtlpExportAnswer(contentType: string | string[] | undefined, body: string): OtlpExportAnswer {
  const text = body.trim();
  if (!text) return { accepted: true, rejected: 0, message: '' };
  const type = mediaType(contentType);
  // A collector that names a type must name JSON; one that names none must at least send JSON.
  if (type && !isJsonType(type)) return { accepted: false, problem: `with ${type} (${quote(text)})` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { accepted: false, problem: `with a body that is not JSON (${quote(text)})` };
  }
  if (!isObject(parsed)) return { accepted: false, problem: `with JSON that is not an object (${quote(text)})` };
  const partial = isObject(parsed.partialSuccess) ? parsed.partialSuccess : {};
  return { accepted: true, rejected: count(partial.rejectedLogRecords), message: typeof partial.errorMessage === 'string' ? oneLine(partial.errorMessage, 500) : '' };
}

function mediaType(contentType: string | string[] | undefined): string {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return (value ?? '').split(';')[0]!.trim().toLowerCase();
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An int64 in the JSON mapping: a decimal string or a number; anything else counts as none. */
function count(value: unknown): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : typeof value === 'number' ? value : 0;
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** The start of a body, quoted, so a log line shows what answered. */
function quote(text: string): string {
  return `"${oneLine(text, 120)}"`;
}

/** A collector's text on one line and cut short: it goes into a single log line. */
function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
