import type { AgentStatus, Notice } from './agent-status.js';

/**
 * Reads the running agent's local JSON endpoints: the same ones the status pages and `bifrost-edge
 * status` read, so the tray shows exactly what the pages show. The agent answers only loopback Host
 * headers, which a request to http://127.0.0.1:PORT sends.
 */
export interface AgentClient {
  status(): Promise<AgentStatus>;
  notices(): Promise<Notice[]>;
}

export interface AgentClientOptions {
  /** A stuck agent must not stall the tray: give up after this long. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class AgentUnreachableError extends Error {
  constructor(url: string, cause: string) {
    super(`Bifrost Edge did not answer ${url}: ${cause}`);
    this.name = 'AgentUnreachableError';
  }
}

export function createAgentClient(proxyUrl: string, options: AgentClientOptions = {}): AgentClient {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 3000;
  const getJson = async (path: string): Promise<unknown> => {
    const url = new URL(path, proxyUrl).toString();
    let response: Response;
    try {
      response = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    } catch (err) {
      throw new AgentUnreachableError(url, (err as Error).message);
    }
    if (!response.ok) throw new AgentUnreachableError(url, `HTTP ${response.status}`);
    return response.json();
  };
  return {
    async status() {
      const body = await getJson('/status.json');
      if (!isAgentStatus(body)) throw new AgentUnreachableError(new URL('/status.json', proxyUrl).toString(), 'the answer is not an agent status');
      return body;
    },
    async notices() {
      const body = await getJson('/notices.json');
      return Array.isArray(body) ? (body as Notice[]) : [];
    },
  };
}

function isAgentStatus(value: unknown): value is AgentStatus {
  if (!value || typeof value !== 'object') return false;
  const policy = (value as { policy?: unknown }).policy;
  return typeof (value as { mode?: unknown }).mode === 'string' && !!policy && typeof policy === 'object' && typeof (policy as { generatedAt?: unknown }).generatedAt === 'string';
}
