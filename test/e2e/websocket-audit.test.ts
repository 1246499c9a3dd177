import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { startEdgeBeforeRealtimeOrigin } from '../support/realtime-edge.js';
import { rawUpgradeThroughEdge } from '../support/raw-websocket-upgrade.js';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * The audit record of a WebSocket opening says what became of it: opened (101), refused by the upstream (its
 * status), not reached (502, and why), or refused by Edge before any of that (blocked, with the status the HTTP
 * equivalent gets). Only a socket that opened counts against its key's request limit (2 here). The origin
 * refuses the upgrade with a 401 when the URL says `refuse`, and opens it otherwise; Gemini's origin is a port
 * nothing listens on.
 */

const GEMINI_LIVE = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';

let origin: http.Server;
let edge: EdgeProcess;

beforeAll(async () => {
  const wss = new WebSocketServer({ noServer: true });
  origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => {
    if (req.url?.includes('refuse')) {
      const body = JSON.stringify({ error: { code: 'invalid_api_key' } });
      socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, () => {});
  });
  edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-ws-audit-', {
    geminiModels: ['*'], geminiUnreachable: true, rateLimit: { request_max_limit: 2, request_reset_duration: '1h' },
  });
});

afterAll(async () => {
  await edge?.stop();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

type Outcome = { kind: 'open' } | { kind: 'http'; status: number } | { kind: 'closed'; code: number; reason: string };

/** Opens a WebSocket through Edge; resolves with what the client got: an open socket (closed again), an HTTP answer, or a close. */
async function attempt(host: string, target: string): Promise<Outcome> {
  const ws = await webSocketThroughEdge(edge, `wss://${host}${target}`);
  return new Promise((resolve) => {
    let opened = false;
    ws.once('open', () => {
      opened = true;
      // A socket Edge blocks opens, then closes with the reason at once: wait a moment to tell the two apart.
      setTimeout(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.close();
        resolve({ kind: 'open' });
      }, 200);
    });
    ws.once('close', (code, reason) => {
      if (opened) resolve({ kind: 'closed', code, reason: reason.toString() });
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ kind: 'http', status: res.statusCode ?? 0 });
    });
  });
}

interface AuditRecord { host: string; path: string; decision: string; status?: number; reason?: string; message?: string }

/** The records of `path`, once `count` of them are written. */
function recordsOf(pathName: string, count: number): Promise<AuditRecord[]> {
  return auditRecordsOnceThere<AuditRecord>(edge.dataDir, (r) => r.path === pathName, count);
}

describe('what became of a WebSocket opening is recorded', () => {
  // First: the key's request limit, used up below, holds for Gemini too.
  it('not reached: recorded as failed, with the status the client got and why', async () => {
    expect(await attempt('generativelanguage.googleapis.com', GEMINI_LIVE)).toEqual({ kind: 'http', status: 502 });
    const [record] = await recordsOf(GEMINI_LIVE, 1);
    expect(record).toMatchObject({ decision: 'failed', status: 502, reason: 'upstream_unreachable' });
    expect(record!.message).toContain('could not open the upstream WebSocket');
  });

  it('refused by the upstream: its status is recorded, and the key\'s request limit is not used up', async () => {
    expect(await attempt('api.openai.com', '/v1/realtime?model=gpt-realtime&refuse')).toEqual({ kind: 'http', status: 401 });
    expect(await attempt('api.openai.com', '/v1/realtime?model=gpt-realtime&refuse')).toEqual({ kind: 'http', status: 401 });
    // The limit is 2: both sockets that open count, a third is refused.
    expect(await attempt('api.openai.com', '/v1/realtime?model=gpt-realtime')).toEqual({ kind: 'open' });
    expect(await attempt('api.openai.com', '/v1/realtime?model=gpt-realtime')).toEqual({ kind: 'open' });
    expect(await attempt('api.openai.com', '/v1/realtime?model=gpt-realtime')).toMatchObject({ kind: 'closed', code: 1008 });

    const records = await recordsOf('/v1/realtime', 5);
    expect(records.map((r) => [r.decision, r.status])).toEqual([
      ['allowed', 401], ['allowed', 401], ['allowed', 101], ['allowed', 101], ['blocked', 429],
    ]);
  });

  it('refused by Edge, a Host naming another server: recorded as blocked 421, as the HTTP request is', async () => {
    expect((await rawUpgradeThroughEdge(edge, '/v1/realtime/host-mismatch?model=gpt-realtime', 'other.example')).statusLine).toMatch(/^HTTP\/1\.1 101/);
    const [record] = await recordsOf('/v1/realtime/host-mismatch', 1);
    expect(record).toMatchObject({ host: 'api.openai.com', decision: 'blocked', status: 421, reason: 'host_mismatch' });
  });

  it('refused by Edge, a whole URL as the request target: recorded as blocked', async () => {
    expect((await rawUpgradeThroughEdge(edge, 'ws://127.0.0.1:1/v1/realtime/whole-url?model=gpt-realtime')).statusLine).toMatch(/^HTTP\/1\.1 101/);
    const [record] = await recordsOf('/v1/realtime/whole-url', 1);
    expect(record).toMatchObject({ host: 'api.openai.com', decision: 'blocked', status: 400, reason: 'invalid_target' });
  });
});
