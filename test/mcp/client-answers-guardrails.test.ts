import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { curl } from '../support/proxy-clients.js';
import { writeMcpPolicy } from './support.js';

/**
 * A remote MCP server asks the client things (elicitation: a form the user fills in; sampling: a completion
 * from the client's model; roots: the client's folders), and the client's answers go to the server as
 * JSON-RPC responses. They leave the laptop like a tool call's arguments do, so the guardrails read them.
 */

const HOST = 'mcp.example.test';
// Assembled at run time so the repository never holds a credential-shaped literal.
const AWS_KEY = 'AKIA' + 'QYLPMN5HXZ7WT3RB';
const EMAIL = 'jane.doe@acme-corp.com';

const elicitationAnswer = (id: number, contact: string) => ({ jsonrpc: '2.0', id, result: { action: 'accept', content: { contact, seats: 3 } } });
const samplingAnswer = (id: number, text: string) => ({ jsonrpc: '2.0', id, result: { role: 'assistant', model: 'claude-sonnet-4-5', content: { type: 'text', text } } });

const resolver = createProviderResolver([HOST]);

/** [path, text, kind] of each span, read the way the proxy reads a POST to the MCP endpoint. */
function texts(body: unknown): Array<[string, string, string]> {
  const resolution = resolver.resolve({ method: 'POST', host: HOST, path: '/mcp', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } });
  if (resolution.kind !== 'recognized') throw new Error('not recognised as MCP');
  const parsed = resolution.parse(Buffer.from(JSON.stringify(body)));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.request.texts.map((span) => [span.path.join('.'), span.text, span.kind]);
}

describe('the client\'s answers to a server\'s requests are read as text', () => {
  it.each([
    ['an elicitation form the user filled in', elicitationAnswer(7, EMAIL), [['result.action', 'accept', 'input'], ['result.content.contact', EMAIL, 'input']]],
    ['a sampling completion', samplingAnswer(8, 'Use the blue one.'), [
      ['result.role', 'assistant', 'input'], ['result.model', 'claude-sonnet-4-5', 'input'], ['result.content.type', 'text', 'input'], ['result.content.text', 'Use the blue one.', 'input'],
    ]],
    ['the client\'s roots', { jsonrpc: '2.0', id: 9, result: { roots: [{ uri: 'file:///home/jane/acme', name: 'acme' }] } }, [
      ['result.roots.0.uri', 'file:///home/jane/acme', 'input'], ['result.roots.0.name', 'acme', 'input'],
    ]],
    ['an error the client answers with', { jsonrpc: '2.0', id: 10, error: { code: -1, message: 'User declined: ask jane' } }, [['error.message', 'User declined: ask jane', 'input']]],
    ['answers in a batch', [{ jsonrpc: '2.0', id: 1, result: {} }, elicitationAnswer(2, 'x')], [['1.result.action', 'accept', 'input'], ['1.result.content.contact', 'x', 'input']]],
  ] as const)('%s', (_name, body, expected) => {
    expect(texts(body)).toEqual(expected);
  });
});

describe('through a real Edge to a remote MCP server (default policy: secrets block, PII redacted)', () => {
  let edge: EdgeProcess;
  let server: http.Server;
  const received: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      req.on('end', () => {
        received.push(body);
        res.statusCode = 202;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-answers-'));
    edge = await startEdgeProcess({
      dataDir,
      config: {
        mode: 'local',
        interceptHosts: [HOST],
        upstream: { originOverrides: { [HOST]: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } },
        policyFile: writeMcpPolicy(dataDir, HOST, ['*']),
      },
    });
  });

  afterAll(async () => {
    await edge?.stop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server ? server.close(() => resolve()) : resolve());
  });

  const post = (message: unknown) => curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, `https://${HOST}/mcp`,
    '-H', 'content-type: application/json', '-H', 'accept: application/json, text/event-stream', '-d', JSON.stringify(message)]);

  it('a sampling answer holding a key is refused and never reaches the server; the refusal names where, not the key', async () => {
    received.length = 0;
    const refused = await post(samplingAnswer(8, `Use ${AWS_KEY} for the deploy.`));
    expect(refused.status).not.toBe(202);
    expect(refused.body).toContain('result.content.text');
    expect(refused.body).not.toContain(AWS_KEY);
    expect(received).toEqual([]);
  });

  it('an email typed into an elicitation form is redacted in place; the rest of the answer goes as it was', async () => {
    received.length = 0;
    const answered = await post(elicitationAnswer(7, EMAIL));
    expect(answered.status).toBe(202);
    expect(received.map((body) => JSON.parse(body) as unknown)).toEqual([elicitationAnswer(7, '[REDACTED:email]')]);
  });
});
