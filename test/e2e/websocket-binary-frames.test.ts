import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';
import { startEdgeBeforeRealtimeOrigin } from '../support/realtime-edge.js';

/**
 * Binary frames through a real Edge. Servers that read a binary frame as JSON may ignore what follows the first
 * value (Go's json.Decoder, gorilla's ReadJSON, which also ignore the frame's type), so a turn with bytes after it,
 * a NUL, or a second object after it would run there. The Responses API has no binary messages: any binary frame
 * closes its socket. On the Realtime API (and Gemini Live) a binary frame that starts as JSON is a JSON message: it
 * must be exactly one JSON value in UTF-8, read as text frames are, or the socket closes (JSON in UTF-16 or UTF-32,
 * which Python's json.loads reads, closes it too). Other binary data goes as it is.
 */

const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;

let origin: http.Server;
let edge: EdgeProcess;
/** What the origin received: each message's frame type and text. */
const received: Array<{ isBinary: boolean; text: string }> = [];

beforeAll(async () => {
  const wss = new WebSocketServer({ noServer: true });
  origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data, isBinary) => {
      received.push({ isBinary, text: String(data) });
      ws.send(JSON.stringify({ type: 'received' }));
    });
  }));
  edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-ws-binary-', { allowedModels: ['gpt-realtime', 'gpt-5-mini'] });
});

afterAll(async () => {
  await edge?.stop();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

beforeEach(() => {
  received.length = 0;
});

type Outcome = { kind: 'answered' } | { kind: 'closed'; code: number; reason: string };

/** Opens `path` on api.openai.com through Edge and sends `data` in one binary frame; resolves to how it ended. */
async function sendBinary(path: string, data: Buffer): Promise<Outcome> {
  const ws = await webSocketThroughEdge(edge, `wss://api.openai.com${path}`);
  await opened(ws);
  const outcome = new Promise<Outcome>((resolve) => {
    ws.once('message', () => resolve({ kind: 'answered' }));
    ws.once('close', (code, reason) => resolve({ kind: 'closed', code, reason: reason.toString() }));
  });
  ws.send(data, { binary: true });
  const result = await outcome;
  ws.close();
  return result;
}

const turn = JSON.stringify({ type: 'response.create', model: 'o3-pro', input: `deploy with ${SECRET}` });
const item = JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `deploy with ${SECRET}` }] } });

describe('the Responses WebSocket: a binary frame closes the socket, and nothing of it is sent', () => {
  it.each([
    ['a turn followed by other bytes', Buffer.from(`${turn} x`)],
    ['a turn followed by a NUL byte', Buffer.from(`${turn}\u0000`)],
    ['two turns back to back', Buffer.from(turn + turn)],
    ['a turn alone', Buffer.from(turn)],
    ['data that is not JSON', Buffer.from([0x52, 0x49, 0x46, 0x46, 0x00, 0x01])],
  ])('%s', async (_name, data) => {
    const outcome = await sendBinary('/v1/responses', data);
    expect(outcome).toMatchObject({ kind: 'closed', code: 1003, reason: expect.stringContaining('send it as text') });
    expect(received).toEqual([]);
  });
});

describe('the Realtime API: a binary frame that starts as JSON must be one JSON value', () => {
  it.each([
    ['an event followed by other bytes', Buffer.from(`${item} x`)],
    ['an event followed by a NUL byte', Buffer.from(`${item}\u0000`)],
    ['two events back to back', Buffer.from(item + item)],
    ['an event after white space and followed by another', Buffer.from(` \n${item}${item}`)],
  ])('%s closes the socket, and nothing of it is sent', async (_name, data) => {
    const outcome = await sendBinary('/v1/realtime?model=gpt-realtime', data);
    expect(outcome).toMatchObject({ kind: 'closed', code: 1007, reason: expect.stringContaining('not one JSON value') });
    expect(received).toEqual([]);
  });

  it.each([
    ['UTF-32BE', false, ''],
    ['UTF-32LE with its byte-order mark', true, '\ufeff'],
  ])('an event in %s (Python\'s json.loads reads it) closes the socket, and nothing of it is sent', async (_name, littleEndian, mark) => {
    const codePoints = [...`${mark}${item}`].map((character) => character.codePointAt(0)!);
    const data = Buffer.alloc(codePoints.length * 4);
    codePoints.forEach((codePoint, i) => (littleEndian ? data.writeUInt32LE(codePoint, i * 4) : data.writeUInt32BE(codePoint, i * 4)));
    const outcome = await sendBinary('/v1/realtime?model=gpt-realtime', data);
    expect(outcome).toMatchObject({ kind: 'closed', code: 1007, reason: expect.stringContaining('in UTF-32') });
    expect(received).toEqual([]);
  });

  it('an array is read as a message, and refused as an event of the wrong shape', async () => {
    const outcome = await sendBinary('/v1/realtime?model=gpt-realtime', Buffer.from(`[${item}]`));
    expect(outcome).toMatchObject({ kind: 'closed', code: 1008 });
    expect(received).toEqual([]);
  });

  it('one event is read like a text frame: a secret is blocked, a clean event goes on', async () => {
    expect(await sendBinary('/v1/realtime?model=gpt-realtime', Buffer.from(item))).toMatchObject({ kind: 'closed', code: 1008, reason: expect.stringContaining('blocked') });
    expect(received).toEqual([]);
    const clean = JSON.stringify({ type: 'input_audio_buffer.commit' });
    expect(await sendBinary('/v1/realtime?model=gpt-realtime', Buffer.from(`${clean}\n`))).toEqual({ kind: 'answered' });
    expect(received).toEqual([{ isBinary: true, text: `${clean}\n` }]);
  });

  it('binary data that does not start as JSON goes as it is', async () => {
    const audio = Buffer.from([0x52, 0x49, 0x46, 0x46, 0x00, 0x7b, 0xff]);
    expect(await sendBinary('/v1/realtime?model=gpt-realtime', audio)).toEqual({ kind: 'answered' });
    expect(received).toEqual([{ isBinary: true, text: audio.toString() }]);
  });
});
