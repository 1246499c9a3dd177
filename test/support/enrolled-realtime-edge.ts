import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { startControlFixture, waitFor, type ControlFixture } from '../control/support/control-fixture.js';
import type { StandinVirtualKeyInput } from './bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess } from './edge-process.js';
import { opened, webSocketThroughEdge } from './websocket-through-edge.js';

/**
 * A real Edge enrolled at a real Edge Control (its keys from the Bifrost stand-in), whose Realtime sessions go to
 * their origin, a local `ws` server: the Realtime API has no Bifrost route. What the tests of policy pushed to live
 * sessions drive.
 */
export interface EnrolledRealtimeEdge {
  fixture: ControlFixture;
  edge: EdgeProcess;
  /** How many bundles the agent has applied so far (its log says so for each). */
  bundlesApplied(): number;
  /** A Realtime session on gpt-realtime through Edge, once the agent holds a bundle and the session is open. */
  openRealtimeSession(headers?: Record<string, string>): Promise<WebSocket>;
  /** Ends the sessions it opened, then stops Edge, Edge Control and the origin. */
  close(): Promise<void>;
}

export interface EnrolledRealtimeEdgeOptions {
  /** The key Edge enrolls with, one of `virtualKeys`. */
  keyValue: string;
  virtualKeys: StandinVirtualKeyInput[];
  /** The origin's answer to each client message (its `type`) on `ws`. */
  answer(ws: WebSocket, type: string | undefined): void;
}

export async function startEnrolledRealtimeEdge(options: EnrolledRealtimeEdgeOptions): Promise<EnrolledRealtimeEdge> {
  const fixture = await startControlFixture({ virtualKeys: options.virtualKeys });
  const wss = new WebSocketServer({ noServer: true });
  const origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data: RawData) => options.answer(ws, (JSON.parse(String(data)) as { type?: string }).type));
  }));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const sockets: WebSocket[] = [];
  let edge: EdgeProcess | undefined;
  const close = async () => {
    for (const ws of sockets) ws.terminate();
    await edge?.stop();
    await fixture.close();
    origin.closeAllConnections();
    await new Promise((resolve) => origin.close(resolve));
  };
  try {
    edge = await startEdgeProcess({
      config: {
        gateway: { url: fixture.standin.url, virtualKey: options.keyValue },
        control: { url: fixture.server.url, enrollment: 'virtual_key' },
        upstream: { originOverrides: { 'api.openai.com': `http://127.0.0.1:${(origin.address() as AddressInfo).port}` } },
      },
    });
  } catch (err) {
    await close();
    throw err;
  }
  const running = edge;
  const bundlesApplied = () => running.stderr().split('\n').filter((line) => line.includes('applying policy bundle')).length;
  return {
    fixture,
    edge: running,
    bundlesApplied,
    async openRealtimeSession(headers) {
      await waitFor(() => bundlesApplied() > 0, 10_000, 'the first bundle');
      const ws = await webSocketThroughEdge(running, 'wss://api.openai.com/v1/realtime?model=gpt-realtime', headers ? { headers } : {});
      sockets.push(ws);
      await opened(ws);
      return ws;
    },
    close,
  };
}

/** The next message `ws` gets, parsed; undefined when none comes within 3 s. */
export function nextMessage(ws: WebSocket): Promise<{ type?: string } | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 3000);
    ws.once('message', (data: RawData) => {
      clearTimeout(timer);
      resolve(JSON.parse(String(data)) as { type?: string });
    });
  });
}
