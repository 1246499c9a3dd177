import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { hostOfHostHeader, parseConnectTarget } from '../../src/proxy/connect-target.js';
import { decodeForInspection, readRequestBody, RequestBodyError } from '../../src/proxy/request-body.js';
import { buildPacFile } from '../../src/proxy/pac.js';
import { appFromUserAgent } from '../../src/proxy/app-attribution.js';

describe('parseConnectTarget', () => {
  it.each([
    ['api.openai.com:443', { host: 'api.openai.com', port: 443 }],
    ['API.OpenAI.com.:8443', { host: 'api.openai.com', port: 8443 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
    ['example.com', { host: 'example.com', port: 443 }],
    ['127.0.0.1:80', { host: '127.0.0.1', port: 80 }],
  ])('%s', (input, expected) => expect(parseConnectTarget(input)).toEqual(expected));
  it.each(['', 'host:0', 'host:70000', 'a b:443', 'http://x:443', ':443', 'host:-1'])('rejects %j', (input) => {
    expect(parseConnectTarget(input)).toBeUndefined();
  });
  it('reads Host headers', () => {
    expect(hostOfHostHeader('Api.OpenAI.com:443')).toBe('api.openai.com');
    // A request without a Host header: the callers pass its absence as ''.
    expect(hostOfHostHeader('')).toBeUndefined();
  });
});

describe('readRequestBody', () => {
  const stream = (chunks: string[], headers: Record<string, string> = {}) => Object.assign(Readable.from(chunks.map((c) => Buffer.from(c))), { headers });
  it('reads a body under the cap', async () => {
    expect((await readRequestBody(stream(['ab', 'cd']), 10)).toString()).toBe('abcd');
  });
  it('refuses a body whose Content-Length is over the cap before reading it', async () => {
    await expect(readRequestBody(stream(['x'], { 'content-length': '999' }), 10)).rejects.toMatchObject({ edge: { status: 413, type: 'request_too_large' } });
  });
  it('refuses a chunked body as soon as it passes the cap', async () => {
    const err = await readRequestBody(stream(['12345', '67890', 'x']), 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestBodyError);
    expect((err as RequestBodyError).edge.message).toMatch(/larger than the 10 bytes Bifrost Edge inspects/);
  });
});

describe('decodeForInspection', () => {
  const json = Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }));
  it.each([
    ['gzip', zlib.gzipSync(json)],
    ['deflate', zlib.deflateSync(json)],
    ['br', zlib.brotliCompressSync(json)],
    ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(json))],
    ['identity', json],
  ])('decodes %s', (encoding, body) => {
    expect(decodeForInspection(body, encoding, 1 << 20).equals(json)).toBe(true);
  });
  it('refuses a decompression bomb', () => {
    const bomb = zlib.gzipSync(Buffer.alloc(5 * 1024 * 1024));
    expect(() => decodeForInspection(bomb, 'gzip', 1024 * 1024)).toThrow(/larger than the 1.0 MiB/);
  });
  it('refuses unknown encodings and corrupt data with clear errors', () => {
    expect(() => decodeForInspection(json, 'compress', 1 << 20)).toThrow(/cannot inspect a request body encoded with "compress"/);
    expect(() => decodeForInspection(Buffer.from('not gzip'), 'gzip', 1 << 20)).toThrow(/is not valid gzip data/);
  });
});

/** FindProxyForURL of a PAC file, run as a browser would (with its shExpMatch). */
function pacFinder(pac: string): (host: string) => string {
  const context = vm.createContext({
    shExpMatch: (s: string, p: string) => new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$').test(s),
  });
  vm.runInContext(pac, context);
  return (host) => vm.runInContext(`FindProxyForURL("https://${host}/", ${JSON.stringify(host)})`, context) as string;
}

describe('buildPacFile', () => {
  it('proxies AI hosts (exact and wildcard) and sends everything else DIRECT', () => {
    const find = pacFinder(buildPacFile('127.0.0.1:8790', ['api.openai.com', 'api.*.githubcopilot.com']));
    expect(find('api.openai.com')).toBe('PROXY 127.0.0.1:8790');
    expect(find('API.OPENAI.COM')).toBe('PROXY 127.0.0.1:8790');
    expect(find('api.business.githubcopilot.com')).toBe('PROXY 127.0.0.1:8790');
    expect(find('example.com')).toBe('DIRECT');
  });

  it('a fully qualified name with its trailing dot is the same host, not a way around Edge', () => {
    const find = pacFinder(buildPacFile('127.0.0.1:8790', ['chatgpt.com', 'api.*.githubcopilot.com']));
    expect(find('chatgpt.com.')).toBe('PROXY 127.0.0.1:8790');
    expect(find('ChatGPT.com..')).toBe('PROXY 127.0.0.1:8790');
    expect(find('api.business.githubcopilot.com.')).toBe('PROXY 127.0.0.1:8790');
    expect(find('example.com.')).toBe('DIRECT');
  });
});

describe('appFromUserAgent', () => {
  it.each([
    ['OpenAI/JS 6.1.0', 'openai-node'],
    ['curl/8.5.0', 'curl'],
    ['python-requests/2.32.3', 'python-requests'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36', 'chrome'],
    ['claude-cli/1.0.3 (external, cli)', 'claude-code'],
    ['MyTool/2.0', 'mytool'],
    [undefined, 'unknown'],
  ])('%s → %s', (ua, app) => expect(appFromUserAgent(ua)).toBe(app));
});
