import type http from 'node:http';
import { startEdgeProcess, type EdgeProcess } from './edge-process.js';
import { startTestOrigin, type TestOrigin } from './test-origin.js';

export interface EdgeBeforeOpenAiOrigin {
  edge: EdgeProcess;
  origin: TestOrigin;
  /** Stops Edge, then its origin. */
  stop(): Promise<void>;
}

/**
 * The real Edge CLI in local mode sending api.openai.com to a TLS test origin on loopback answered by `handler`,
 * with `proxy` settings when given: what the upload and request-body tests drive through the proxy.
 */
export async function startEdgeBeforeOpenAiOrigin(handler: http.RequestListener, proxy?: Record<string, unknown>): Promise<EdgeBeforeOpenAiOrigin> {
  return startEdgeBeforeTestOrigin(handler, { hosts: ['api.openai.com'], ...(proxy ? { proxy } : {}) });
}

/**
 * The real Edge CLI in local mode sending each of `hosts` to one TLS test origin on loopback answered by `handler`,
 * with `proxy` settings when given. The origin is closed when Edge fails to start.
 */
export async function startEdgeBeforeTestOrigin(
  handler: http.RequestListener, options: { hosts: readonly string[]; proxy?: Record<string, unknown> },
): Promise<EdgeBeforeOpenAiOrigin> {
  const origin = await startTestOrigin(handler);
  let edge: EdgeProcess;
  try {
    edge = await startEdgeProcess({
      config: {
        mode: 'local', ...(options.proxy ? { proxy: options.proxy } : {}),
        upstream: { caFile: origin.caPath, originOverrides: Object.fromEntries(options.hosts.map((host) => [host, origin.url])) },
      },
    });
  } catch (err) {
    await origin.close();
    throw err;
  }
  return {
    edge,
    origin,
    stop: async () => {
      await edge.stop();
      await origin.close();
    },
  };
}
