import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchPolicy, postEnrollment } from '../../src/control/client/control-api.js';
import { PolicyTemplateSchema } from '../../src/control/protocol/admin.js';
import { announcedBundleFields, GATED_BUNDLE_FIELDS } from '../../src/control/protocol/bundle-fields.js';
import { BUNDLE_FIELDS_HEADER } from '../../src/control/protocol/paths.js';
import { buildPolicyBundle } from '../../src/control/server/bundle-builder.js';
import { vk } from '../policy/support.js';

/**
 * Optional bundle fields added after agents shipped (duration_pricing) go only to devices that said they understand
 * them: an agent's strict schema refuses a bundle carrying a field it does not know, and would keep enforcing its
 * last bundle. The agent names the fields in a request header; the bundle builder leaves out the others.
 */

const TEMPLATE = PolicyTemplateSchema.parse({ fail_mode: 'closed', duration_pricing: { 'openai/whisper-1': { usd_per_minute: 0.01 } } });
const inputs = {
  template: TEMPLATE, subject: { sub: 'user-1', groups: [] }, keys: [vk()],
  version: 3, issuedAt: '2025-06-01T11:00:00.000Z', gatewayUrl: 'https://gw.example.com',
};

describe('the bundle builder', () => {
  it('leaves duration_pricing out of the bundle of a device that did not announce it', () => {
    const built = buildPolicyBundle({ ...inputs, fields: [] });
    expect('duration_pricing' in built).toBe(false);
    expect(built.fail_mode).toBe('closed');
  });

  it('puts it in the bundle of a device that did', () => {
    expect(buildPolicyBundle({ ...inputs, fields: ['duration_pricing'] }).duration_pricing).toEqual({ 'openai/whisper-1': { usd_per_minute: 0.01 } });
  });

  it('keeps every field for a caller that names no fields', () => {
    expect(buildPolicyBundle(inputs).duration_pricing).toEqual({ 'openai/whisper-1': { usd_per_minute: 0.01 } });
  });
});

describe('announcedBundleFields', () => {
  it.each([
    ['no header', undefined, []],
    ['an empty header', '', []],
    ['the field', 'duration_pricing', ['duration_pricing']],
    ['the field among others this server does not gate, with spaces', ' future_field , duration_pricing', ['duration_pricing']],
    ['repeated headers', ['future_field', 'duration_pricing'], ['duration_pricing']],
    ['a near miss', 'duration-pricing', []],
  ])('%s', (_name, header, fields) => {
    expect(announcedBundleFields(header)).toEqual(fields);
  });
});

describe('the agent announces the fields it understands', () => {
  let server: http.Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** A local server that records each request's announced fields and answers with an error body. */
  async function recordingServer(): Promise<{ url: string; announced: Array<string | undefined> }> {
    const announced: Array<string | undefined> = [];
    server = http.createServer((req, res) => {
      const value = req.headers[BUNDLE_FIELDS_HEADER];
      announced.push(Array.isArray(value) ? value.join(',') : value);
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { type: 'policy_not_ready', message: 'not yet' } }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, announced };
  }

  it('on GET /policy and POST /enroll, naming every gated field', async () => {
    const { url, announced } = await recordingServer();
    await expect(fetchPolicy(url, 'cred', undefined)).rejects.toThrow();
    await expect(postEnrollment(url, { method: 'virtual_key', virtual_key: 'sk-bf-x', device: { hostname: 'h' } })).rejects.toThrow();
    expect(announced).toEqual([GATED_BUNDLE_FIELDS.join(','), GATED_BUNDLE_FIELDS.join(',')]);
    expect(announcedBundleFields(announced[0])).toEqual(['duration_pricing']);
  });
});
