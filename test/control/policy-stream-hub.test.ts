import http from 'node:http';
import { describe, expect, it } from 'vitest';
import type { StoredBundle } from '../../src/control/server/control-store.js';
import { SqliteControlStore } from '../../src/control/server/sqlite-control-store.js';
import { ADA_KEY, type ControlFixture } from './support/control-fixture.js';
import { syncTestHarness } from './support/sync-harness.js';

/** The server's register of open push streams (admin `connected_streams`) counts only streams still open. */
const { fixtureForTest } = syncTestHarness();

async function enrollAda(fixture: ControlFixture): Promise<string> {
  const res = await fetch(`${fixture.server.url}/api/edge/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'laptop' } }),
  });
  expect(res.status).toBe(201);
  return (await res.json() as { device_credential: string }).device_credential;
}

async function connectedStreams(fixture: ControlFixture): Promise<number> {
  const { json } = await fixture.admin('GET', '/api/edge/v1/admin/devices') as { json: { devices: Array<{ connected_streams: number }> } };
  return json.devices[0]!.connected_streams;
}

describe('a push stream request whose client goes away while the server looks up its bundle', () => {
  it('is not registered as an open stream', async () => {
    // The store holds bundle lookups until released (a busy database), and says when one is waiting.
    let hold: Promise<void> | undefined;
    let lookupWaiting: () => void = () => undefined;
    class SlowStore extends SqliteControlStore {
      override async latestBundle(deviceId: string): Promise<StoredBundle | undefined> {
        if (hold) {
          lookupWaiting();
          await hold;
        }
        return super.latestBundle(deviceId);
      }
    }
    const fixture = await fixtureForTest({ store: (config) => new SlowStore(config.storage.sqlite_path) });
    const credential = await enrollAda(fixture);
    const url = new URL(`${fixture.server.url}/api/edge/v1/policy/stream`);
    const openStream = (): http.ClientRequest => {
      const req = http.get({ host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${credential}` } });
      req.on('error', () => undefined);
      return req;
    };

    let release: () => void = () => undefined;
    hold = new Promise((resolve) => {
      release = resolve;
    });
    const firstLookup = new Promise<void>((resolve) => {
      lookupWaiting = resolve;
    });
    // The first request's lookup is held; the others queue behind it (lookups run one device at a time).
    const requests = Array.from({ length: 5 }, openStream);
    await firstLookup;
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const req of requests) req.destroy();
    // Let the server see the connections close before the lookups finish.
    await new Promise((resolve) => setTimeout(resolve, 200));
    hold = undefined;
    release();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await connectedStreams(fixture)).toBe(0);

    // A stream that stays open is still counted, and no longer once it closes.
    const live = openStream();
    const response = await new Promise<http.IncomingMessage>((resolve) => live.on('response', resolve));
    expect(response.statusCode).toBe(200);
    expect(await connectedStreams(fixture)).toBe(1);
    live.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await connectedStreams(fixture)).toBe(0);
  });
});
