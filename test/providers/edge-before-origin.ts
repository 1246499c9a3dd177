import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { startTestOrigin, type TestOrigin } from '../support/test-origin.js';

/**
 * The real Edge CLI in local mode with the built-in intercept list, its AI hosts overridden to one HTTPS origin
 * on 127.0.0.1 that records every body it receives: what reaches a provider, and what Edge answers instead.
 */
export interface EdgeBeforeOrigin {
  /** POSTs a JSON body through Edge; answers Edge's status and whether the origin received a body containing `secret`. */
  post(url: string, body: unknown, secret: string): Promise<{ status: number; reachedOrigin: boolean; secretAtOrigin: boolean }>;
  close(): Promise<void>;
}

/** A GitHub token the default guardrails block (446): whether it reaches the origin shows whether Edge read the text. */
export const BLOCKED_SECRET = 'ghp_R8cVq2LmZt7XwYb4NpKdHs9FjAe3Gu6Wx1Qo';

export async function startEdgeBeforeOrigin(hosts: readonly string[]): Promise<EdgeBeforeOrigin> {
  const bodies: string[] = [];
  const origin: TestOrigin = await startTestOrigin((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  let edge: EdgeProcess;
  try {
    edge = await startEdgeProcess({
      config: { mode: 'local', upstream: { caFile: origin.caPath, originOverrides: Object.fromEntries(hosts.map((h) => [h, origin.url])) } },
    });
  } catch (err) {
    await origin.close();
    throw err;
  }
  const dispatcher = proxyDispatcher(edge.proxyUrl, edge.caPem);
  return {
    async post(url, body, secret) {
      bodies.length = 0;
      const res = await undiciFetch(url, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await res.arrayBuffer();
      return { status: res.status, reachedOrigin: bodies.length > 0, secretAtOrigin: bodies.some((b) => b.includes(secret)) };
    },
    async close() {
      await dispatcher.close();
      await edge.stop();
      await origin.close();
    },
  };
}
