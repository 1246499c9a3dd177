import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { SniContexts } from '../../src/proxy/sni-contexts.js';

describe('SniContexts', () => {
  it('keeps the server\'s certificate list to the newest hosts; a dropped host comes back on its next tunnel', () => {
    const server = tls.createServer({});
    const created: string[] = [];
    const contexts = new SniContexts(server, (host) => {
      created.push(host);
      return tls.createSecureContext({});
    }, 3);
    for (const host of ['a.test', 'b.test', 'c.test', 'd.test', 'e.test']) contexts.ensure(host);
    const offered = () => (server as unknown as { _contexts: Array<[RegExp, unknown]> })._contexts.map(([re]) => re.source);
    expect(contexts.size).toBe(3);
    expect(offered()).toEqual(['^c\\.test$', '^d\\.test$', '^e\\.test$']);
    contexts.ensure('d.test');
    expect(created).toHaveLength(5);
    contexts.ensure('a.test');
    expect(created).toHaveLength(6);
    expect(offered()).toEqual(['^d\\.test$', '^e\\.test$', '^a\\.test$']);
  });
});
