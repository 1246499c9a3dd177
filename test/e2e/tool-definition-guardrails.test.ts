import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import type { BifrostStandin } from '../support/bifrost-standin.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { startGatewayModeEdge, type GatewayModeEdge } from '../support/gateway-mode-edge.js';
import { curl, proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

/**
 * Tool definitions leave the laptop with every request of an agent, and people paste credentials and customer
 * data into their descriptions. Through a real Edge (default policy: secrets block, PII redacted; one custom
 * rule that flags), they are scanned like prompts: blocked naming where, redacted in place, or flagged.
 */

const KEY = 'sk-bf-tool-definitions-e2e';
// Assembled at run time so the repository never holds a credential-shaped literal.
const AWS_KEY = 'AKIA' + 'QYLPMN5HXZ7WT3RB';
const EMAIL = 'jane.doe@acme-corp.com';

let gateway: GatewayModeEdge | undefined;
let standin: BifrostStandin;
let edge: EdgeProcess;

beforeAll(async () => {
  gateway = await startGatewayModeEdge(KEY, { guardrails: { customRules: [{ id: 'falcon', message: 'Project Falcon is confidential', keywords: ['Project Falcon'], action: 'flag' }] } });
  ({ standin, edge } = gateway);
});

afterAll(() => gateway?.close());

const dispatcher = () => ({ fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
const messages = [{ role: 'user' as const, content: 'Deploy the app.' }];

async function latestActivity(): Promise<{ decision: string; findings: Array<{ type: string; ruleId: string; action: string; location: string }> }> {
  const activity = await (await fetch(`${edge.proxyUrl}/activity.json`)).json() as Array<{ decision: string; findings: Array<{ type: string; ruleId: string; action: string; location: string }> }>;
  return activity[0]!;
}

describe('tool definitions through the proxy', () => {
  it('OpenAI chat: a key in a function description is blocked with 446 naming where, never echoed, never forwarded', async () => {
    standin.clear();
    const client = new OpenAI({ apiKey: 'sk-proj-app', ...dispatcher() });
    const error = await client.chat.completions.create({
      model: 'gpt-4o',
      messages,
      tools: [{ type: 'function', function: { name: 'deploy', description: `Deploys to AWS with access key ${AWS_KEY}.`, parameters: { type: 'object', properties: {} } } }],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(446);
    expect(apiError.message).toMatch(/secret \(aws[^)]*\) in tools\[0\]\.function\.description/);
    expect(JSON.stringify(apiError.error)).not.toContain(AWS_KEY);
    expect(standin.received.some((r) => r.path.includes('chat/completions'))).toBe(false);
    const activity = await latestActivity();
    expect(activity.decision).toBe('blocked');
    expect(activity.findings).toContainEqual(expect.objectContaining({ type: 'secret', action: 'block', location: 'tools[0].function.description' }));
  });

  it('Anthropic: a key in an input schema property description is blocked, in Anthropic format', async () => {
    standin.clear();
    const client = new Anthropic({ apiKey: 'sk-ant-app', ...dispatcher() });
    const error = await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 32,
      messages,
      tools: [{ name: 'deploy', description: 'Deploys the app', input_schema: { type: 'object', properties: { region: { type: 'string', description: `uses ${AWS_KEY}` } } } }],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const apiError = error as InstanceType<typeof Anthropic.APIError>;
    expect(apiError.status).toBe(446);
    const body = apiError.error as { error: { type: string; message: string } };
    expect(body.error.type).toBe('guardrail_blocked');
    expect(body.error.message).toContain('tools[0].input_schema.properties.region.description');
    expect(JSON.stringify(body)).not.toContain(AWS_KEY);
    expect(standin.received.some((r) => r.path.startsWith('/anthropic/'))).toBe(false);
  });

  it('OpenAI Responses: an email in a parameter description is redacted in place; the rest of the definition goes as it was', async () => {
    standin.clear();
    const parameters = { type: 'object', properties: { to: { type: 'string', description: `Recipient; defaults to ${EMAIL}` } }, required: ['to'] };
    const result = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/responses', '-H', 'content-type: application/json',
      '-H', 'authorization: Bearer sk-proj-app', '-d', JSON.stringify({ model: 'gpt-4o', input: 'Send the report.', tools: [{ type: 'function', name: 'mail', description: 'Sends mail', parameters }] })]);
    expect(result.status).toBe(200);
    const seen = await standin.waitForRequest((r) => r.path === '/openai/v1/responses');
    expect(seen.body).not.toContain(EMAIL);
    const sent = seen.json as { tools: Array<{ name: string; description: string; parameters: typeof parameters }> };
    expect(sent.tools[0]).toEqual({
      type: 'function', name: 'mail', description: 'Sends mail',
      parameters: { ...parameters, properties: { to: { type: 'string', description: 'Recipient; defaults to [REDACTED:email]' } } },
    });
    const activity = await latestActivity();
    expect(activity.findings).toContainEqual(expect.objectContaining({ type: 'email', action: 'redact', location: 'tools[0].parameters.properties.to.description' }));
  });

  it('OpenAI chat: an email in a structured-output schema is redacted in place', async () => {
    standin.clear();
    const client = new OpenAI({ apiKey: 'sk-proj-app', ...dispatcher() });
    const schema = { type: 'object', properties: { owner: { type: 'string', description: `The owner, usually ${EMAIL}` } }, required: ['owner'], additionalProperties: false };
    await client.chat.completions.create({ model: 'gpt-4o', messages, response_format: { type: 'json_schema', json_schema: { name: 'Ticket', strict: true, schema } } });
    const seen = await standin.waitForRequest((r) => r.path === '/openai/v1/chat/completions');
    expect(seen.body).not.toContain(EMAIL);
    const sent = seen.json as { response_format: { json_schema: { schema: typeof schema } } };
    expect(sent.response_format.json_schema.schema).toEqual({ ...schema, properties: { owner: { type: 'string', description: 'The owner, usually [REDACTED:email]' } } });
    const activity = await latestActivity();
    expect(activity.findings).toContainEqual(expect.objectContaining({ type: 'email', action: 'redact', location: 'response_format.json_schema.schema.properties.owner.description' }));
  });

  it('Gemini: a custom rule that flags a declaration\'s description lets it through unchanged and records where', async () => {
    standin.clear();
    const body = { contents: [{ role: 'user', parts: [{ text: 'status?' }] }], tools: [{ functionDeclarations: [{ name: 'status', description: 'Reports on Project Falcon milestones' }] }] };
    const result = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent',
      '-H', 'content-type: application/json', '-H', 'x-goog-api-key: AIza-app', '-d', JSON.stringify(body)]);
    expect(result.status).toBe(200);
    const seen = await standin.waitForRequest((r) => r.path.startsWith('/genai/'));
    expect(seen.json).toMatchObject({ tools: body.tools });
    const activity = await latestActivity();
    expect(activity.decision).toBe('flagged');
    expect(activity.findings).toContainEqual(expect.objectContaining({ type: 'custom', ruleId: 'falcon', action: 'flag', location: 'tools[0].functionDeclarations[0].description' }));
  });
});
