import { afterEach } from 'vitest';
import { startControlFixture, type ControlFixture, type ControlFixtureOptions } from './control-fixture.js';

/**
 * Starts a control fixture for the test that calls it and closes it once that test ends, passed or failed.
 * Call at the top of a test file; each test then calls what it returns.
 */
export function fixturePerTest(): (options?: ControlFixtureOptions) => Promise<ControlFixture> {
  let fixture: ControlFixture | undefined;
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });
  return async (options) => (fixture = await startControlFixture(options));
}
