import { describe, expect, it } from 'vitest';
import { ControlRequestError } from '../../src/control/client/control-api.js';
import { ControlReachability, FAILURES_BEFORE_UNREACHABLE, type ControlReachabilityState } from '../../src/control/client/control-reachability.js';
import { ADA_KEY, tempDir, testLogger, waitFor } from './support/control-fixture.js';
import { adaEnrollment, syncTestHarness } from './support/sync-harness.js';

const { fixtureForTest, syncClient } = syncTestHarness();

const unreachable = new ControlRequestError(0, 'unreachable', 'cannot reach the Edge Control server at http://127.0.0.1:1 (ECONNREFUSED)');
const serverError = new ControlRequestError(503, 'http_error', 'the Edge Control server answered HTTP 503');
const tooMany = new ControlRequestError(429, 'rate_limited', 'slow down');
const captivePortal = new ControlRequestError(200, 'invalid_response', 'the Edge Control server answered 200 with a body that is not JSON');
const bodyCutOff = new TypeError('terminated');
const unknownKey = new ControlRequestError(401, 'virtual_key_not_found', 'the gateway does not know this virtual key');
const disabled = new ControlRequestError(403, 'virtual_key_enrollment_disabled', 'enrollment with a virtual key is disabled');
// What errorFrom makes of a 4xx whose body is not Edge Control's {error}: a WAF page, an ingress 404.
const wafPage = new ControlRequestError(403, 'http_error', 'the Edge Control server answered HTTP 403: <html>Access denied</html>');
const noBackend = new ControlRequestError(404, 'http_error', 'the Edge Control server answered HTTP 404: default backend - 404');

type Step = 'answered' | Error;

/** Feeds the steps to a fresh judge; returns the state after each and every change it announced. */
function judge(steps: Step[]): { after: ControlReachabilityState[]; changes: ControlReachabilityState[] } {
  const changes: ControlReachabilityState[] = [];
  const reachability = new ControlReachability((state) => changes.push(state));
  const after = steps.map((step) => {
    if (step === 'answered') reachability.answered();
    else reachability.failed('policy fetch', step);
    return reachability.state();
  });
  return { after, changes };
}

const reachableAfter = (steps: Step[]) => judge(steps).after.map((s) => s.reachable);

describe('ControlReachability: when Edge Control counts as unreachable', () => {
  it.each<[string, Step[], boolean[]]>([
    ['one failure is a blip (a server restart while the stream reconnects)', [unreachable], [true]],
    ['two failures in a row are not enough either', [unreachable, serverError], [true, true]],
    ['three failures in a row make it unreachable', [unreachable, serverError, unreachable], [true, true, false]],
    ['it stays unreachable while calls keep failing', [unreachable, unreachable, unreachable, tooMany], [true, true, false, false]],
    ['any answer makes it reachable again', [unreachable, unreachable, unreachable, 'answered'], [true, true, false, true]],
    ['an answer in between starts the count over', [unreachable, unreachable, 'answered', unreachable, unreachable], [true, true, true, true, true]],
    ['429, a captive portal and a body cut off are failures like a closed port', [tooMany, captivePortal, bodyCutOff], [true, true, false]],
    ['a refusal (4xx) comes from a server that answered', [unknownKey, disabled, unknownKey, unknownKey], [true, true, true, true]],
    ['a refusal after an outage means it answers again', [unreachable, unreachable, unreachable, unknownKey], [true, true, false, true]],
    ['a refusal between failures starts the count over', [unreachable, unreachable, unknownKey, unreachable, unreachable], [true, true, true, true, true]],
    ['a 4xx that is not Edge Control\'s answer (a WAF, an ingress) is a failure', [wafPage, noBackend, wafPage], [true, true, false]],
  ])('%s', (_name, steps, expected) => {
    expect(reachableAfter(steps)).toEqual(expected);
  });

  it('keeps the last problem until a call succeeds, naming the call and whether it failed or was refused', () => {
    const { after } = judge([unreachable, unknownKey, 'answered']);
    expect(after.map((s) => s.problem)).toEqual([
      `policy fetch failed: ${unreachable.message}`,
      `policy fetch refused: ${unknownKey.message}`,
      undefined,
    ]);
  });

  it('announces changes only', () => {
    const { changes } = judge(['answered', unreachable, unreachable, unreachable, unreachable, 'answered', 'answered']);
    // The first answer confirms, the first failure brings a problem, the third makes it unreachable.
    expect(changes.map((s) => s.reachable)).toEqual([true, true, false, true]);
    expect(FAILURES_BEFORE_UNREACHABLE).toBe(3);
  });
});

describe('ControlReachability: confirmed once Edge Control first answers', () => {
  it('starts reachable but not confirmed: nothing has been heard from Edge Control in this run', () => {
    expect(new ControlReachability(() => {}).state()).toEqual({ reachable: true, confirmed: false });
  });

  it.each<[string, Step[], boolean[]]>([
    ['failures do not confirm, an answer does', [unreachable, serverError, 'answered'], [false, false, true]],
    ['a refusal comes from Edge Control, so it confirms like an answer', [unknownKey], [true]],
    ['a 4xx that is not Edge Control\'s answer does not', [wafPage], [false]],
    ['once confirmed, an outage does not take it back (the three-failures rule judges that)', ['answered', unreachable, unreachable, unreachable], [true, true, true, true]],
  ])('%s', (_name, steps, expected) => {
    expect(judge(steps).after.map((s) => s.confirmed)).toEqual(expected);
  });

  it('a call that could not be made is the problem to show, but counts neither way', () => {
    const reachability = new ControlReachability(() => {});
    const notSignedIn = new Error('not signed in yet: run `bifrost-edge login`');
    for (let i = 0; i < FAILURES_BEFORE_UNREACHABLE + 1; i++) reachability.couldNotCall('enrollment', notSignedIn);
    expect(reachability.state()).toEqual({ reachable: true, confirmed: false, cannotCall: 'no-credentials', problem: `enrollment not possible: ${notSignedIn.message}` });
    reachability.failed('enrollment', unreachable);
    // A call was made again: there is an answer to wait for.
    expect(reachability.state().cannotCall).toBeUndefined();
    reachability.failed('enrollment', unreachable);
    expect(reachability.state().reachable).toBe(true);
  });
});

describe('policy sync reports whether Edge Control answers', () => {
  it('goes unreachable when the server stops, and reachable again when it is back', async () => {
    const fixture = await fixtureForTest();
    const port = fixture.server.port;
    const client = await syncClient({
      controlUrl: fixture.server.url, stateDir: await tempDir('device'), credential: adaEnrollment, log: testLogger(),
      timing: { backoff: { initialMs: 100, maxMs: 400 }, minPollSeconds: 60 },
    });
    const seen: boolean[] = [];
    client.onReachabilityChange((state) => seen.push(state.reachable));
    await waitFor(() => client.isStreaming(), 5_000, 'the push stream');
    expect(client.reachability()).toEqual({ reachable: true, confirmed: true });

    await fixture.server.close();
    const down = await waitFor(() => (client.reachability().reachable ? undefined : client.reachability()), 10_000, 'Edge Control to count as unreachable');
    expect(down.problem).toMatch(/^policy fetch failed: cannot reach the Edge Control server at http:\/\/127\.0\.0\.1:\d+/);

    await fixture.restart({ listen: { port } });
    await waitFor(() => client.reachability().reachable, 10_000, 'Edge Control to count as reachable again');
    expect(client.reachability()).toEqual({ reachable: true, confirmed: true });
    // Reachable → unreachable once → reachable once, however many calls failed in between.
    expect(seen.filter((reachable, i) => i === 0 || reachable !== seen[i - 1])).toEqual([true, false, true]);
  }, 30_000);

  it('a server that refuses the enrollment is reachable, and says why it refused', async () => {
    const fixture = await fixtureForTest();
    const client = await syncClient({
      controlUrl: fixture.server.url, stateDir: await tempDir('device'), log: testLogger(),
      credential: { method: 'virtual_key', virtual_key: `${ADA_KEY.value}-unknown` },
      timing: { backoff: { initialMs: 50, maxMs: 100 } },
    });
    const seen: boolean[] = [];
    client.onReachabilityChange((state) => seen.push(state.reachable));
    const refused = await waitFor(() => client.reachability().problem, 5_000, 'the refusal');
    expect(refused).toMatch(/^enrollment refused: the gateway does not know this virtual key/);
    // Several refusals later it still counts as reachable.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(client.reachability().reachable).toBe(true);
    expect(seen).not.toContain(false);
  });

  it('a restarted device is not confirmed until the server answers, and the answer\'s bundle is applied before it counts as confirmed', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    const first = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger() });
    const cached = await waitFor(() => first.current(), 5_000, 'the first bundle');
    await first.close();
    // A new version is published while the device is off.
    expect((await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: 'closed', content_retention: { mode: 'none' } })).status).toBe(200);

    const restarted = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger(), timing: { minPollSeconds: 60 } });
    expect(restarted.current()).toMatchObject({ origin: 'cache', bundle: { version: cached.bundle.version } });
    expect(restarted.reachability()).toEqual({ reachable: true, confirmed: false });
    const enforcedWhenConfirmed = new Promise<number | undefined>((resolve) => {
      restarted.onReachabilityChange((state) => {
        if (state.confirmed) resolve(restarted.current()?.bundle.version);
      });
    });
    expect(await enforcedWhenConfirmed).toBe(cached.bundle.version + 1);
  });

  it('a device with nothing to enroll with says so, without counting Edge Control as unreachable', async () => {
    const fixture = await fixtureForTest();
    const client = await syncClient({
      controlUrl: fixture.server.url, stateDir: await tempDir('device'), log: testLogger(),
      credential: () => Promise.reject(new Error('not signed in yet: run `bifrost-edge login`')),
      timing: { backoff: { initialMs: 20, maxMs: 40 } },
    });
    const problem = await waitFor(() => client.reachability().problem, 5_000, 'the problem');
    expect(problem).toBe('enrollment not possible: not signed in yet: run `bifrost-edge login`');
    // Many attempts later it is still reachable (nothing was asked of it), and not confirmed.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(client.reachability()).toMatchObject({ reachable: true, confirmed: false });
  });
});
