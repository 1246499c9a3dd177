import { afterEach, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/control/protocol/openapi.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * The OpenAPI document and the server's router both read paths.ts, but each lists its routes itself: a
 * route can be documented and never registered (GET …/admin/audit/chain-events was: its handler existed,
 * the server answered 404), or registered and never documented.
 */
let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const documented = buildOpenApiDocument()['paths'] as Record<string, Record<string, unknown>>;

describe('the Edge Control routes and the OpenAPI document', () => {
  it('document every path in paths.ts', () => {
    expect(Object.values(EdgeControlPaths).filter((path) => !(path in documented))).toEqual([]);
  });

  it('the server answers every documented method and path (no 404 or 405, whatever the credential)', async () => {
    fixture = await startControlFixture();
    const unanswered: string[] = [];
    for (const [path, operations] of Object.entries(documented)) {
      for (const method of Object.keys(operations)) {
        const controller = new AbortController();
        // Without a credential or body: refused, but by the route (the policy stream would stay open otherwise).
        const res = await fetch(`${fixture.server.url}${path}`, { method: method.toUpperCase(), signal: controller.signal });
        controller.abort();
        if (res.status === 404 || res.status === 405) unanswered.push(`${method.toUpperCase()} ${path} → ${res.status}`);
      }
    }
    expect(unanswered).toEqual([]);
  });
});
