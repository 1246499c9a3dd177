import { describe, expect, it } from 'vitest';
import { describeStartFailure, startErrorSummary } from '../../src/tray/start-error.js';

describe('start-up errors in one line for the tray', () => {
  it.each([
    { message: 'mode is "gateway" but no gateway is configured. Set gateway.url.\n\n(configuration: x)', line: 'mode is "gateway" but no gateway is configured. Set gateway.url' },
    { message: 'invalid configuration:\n- proxy.port (from config file /etc/x.json): Too big\n- mode: bad', line: 'invalid configuration: proxy.port (from config file /etc/x.json): Too big' },
    { message: 'cannot read config file /nope.json (ENOENT). Check the path given to --config.', line: 'cannot read config file /nope.json (ENOENT). Check the path given to --config' },
    { message: '', line: 'unknown error' },
  ])('$line', ({ message, line }) => {
    expect(startErrorSummary(message)).toBe(line);
  });

  it('a port in use says what to do', () => {
    const error = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8790'), { code: 'EADDRINUSE' });
    expect(describeStartFailure(error, 8790)).toBe('listen EADDRINUSE: address already in use 127.0.0.1:8790. Port 8790 is in use: is `bifrost-edge run` already running? Stop it, then start the app again.');
    expect(describeStartFailure(new Error('boom.'), 8790)).toBe('boom.');
  });
});
