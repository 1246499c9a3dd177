import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the collector answers one export request. */
export interface OtlpAnswer {
  status: number;
  headers?: http.OutgoingHttpHeaders;
  body?: string;
}

/** One export request as the collector received it, its body read in full. */
export interface OtlpRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Decides a request's answer; nothing means the collector takes the records. */
export type OtlpAnswerer = (request: OtlpRequest) => OtlpAnswer | undefined;

export interface OtlpCollector {
  /** The collector's base URL, as audit.otlpEndpoint takes it (the sink appends /v1/logs). */
  url: string;
  /** Export requests received, whatever was answered. */
  readonly requests: number;
  /** The status of every answer, in order. */
  readonly statuses: number[];
  /** Every request the collector took, with its JSON body, in arrival order. */
  readonly taken: Array<{ headers: http.IncomingHttpHeaders; body: unknown }>;
  /** bifrost.audit.seq of every log record taken, in arrival order. */
  readonly seqs: number[];
  close(): Promise<void>;
}

interface TakenLogs {
  resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<{ attributes: Array<{ key: string; value: { intValue?: string } }> }> }> }>;
}

const TAKEN: OtlpAnswer = { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' };

/**
 * A local OTLP/HTTP logs collector on 127.0.0.1. `answer` may answer a request itself (a refusal, a
 * redirect, an odd 2xx); otherwise the collector takes the records and answers 200 `{}`, as the
 * OpenTelemetry Collector does.
 */
export async function startOtlpCollector(answer: OtlpAnswerer = () => undefined): Promise<OtlpCollector> {
  const state = { requests: 0, statuses: [] as number[], taken: [] as OtlpCollector['taken'] };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    state.requests += 1;
    const given = answer({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    if (!given) state.taken.push({ headers: req.headers, body: JSON.parse(body.toString('utf8')) as unknown });
    const { status, headers, body: text } = given ?? TAKEN;
    state.statuses.push(status);
    res.writeHead(status, headers).end(text ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() { return state.requests; },
    get statuses() { return state.statuses; },
    get taken() { return state.taken; },
    // Read when asked, not on arrival: a test whose answerer takes bodies of another shape never asks.
    get seqs() {
      return state.taken.flatMap(({ body }) => (body as TakenLogs).resourceLogs[0]!.scopeLogs[0]!.logRecords)
        .map((log) => Number(log.attributes.find((a) => a.key === 'bifrost.audit.seq')!.value.intValue));
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Answers `answers` in turn, one per request, then takes everything. */
export function answersInTurn(answers: OtlpAnswer[]): OtlpAnswerer {
  const queue = [...answers];
  return () => queue.shift();
}
