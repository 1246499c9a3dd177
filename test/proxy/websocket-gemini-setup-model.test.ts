import { describe, expect, it } from 'vitest';
import { bundle } from '../policy/support.js';
import { defaultGuardrails, websocketDecisionAgent } from './support/websocket-decision-agent.js';

/**
 * The model a Gemini Live or Lyria RealTime setup names is held to the key's model rules by name, so a name a lenient
 * server may read as another model (`lyria-realtime-exp.`, `lyria-realtime-exp;x`, a trailing blank or NUL), a name that
 * is none (empty, `models/` alone), a resource path (a `/` left once `models/` is stripped) or one in upper case
 * (Google's names are lower case; whether its API folds them is undocumented) is refused, as Gemini's HTTP path
 * refuses such a model: a key denying the model must not let its look-alike through. The refusal is recorded as a
 * malformed setup is.
 */

const HOST = 'generativelanguage.googleapis.com';
const SESSIONS = [
  { api: 'Lyria RealTime', path: '/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateMusic', denied: 'lyria-realtime-exp' },
  { api: 'Gemini Live', path: '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent', denied: 'gemini-live-2.5-flash' },
] as const;

/** A key allowing every Gemini model but `denied`, and a session on `path` opened under it. */
async function sessionDenying(path: string, denied: string) {
  const agent = websocketDecisionAgent({
    bundle: bundle({}, { provider_configs: [{ provider: 'gemini', weight: 1, allowed_models: ['*'], blacklisted_models: [denied] }] }),
    inspectors: [defaultGuardrails()],
  });
  const opened = await agent.decide({ host: HOST, path: `${path}?key=AIza-test`, headers: {} });
  if (opened.action !== 'allow' || !opened.messages) throw new Error(`expected a read socket, got ${JSON.stringify(opened)}`);
  return { messages: opened.messages, records: agent.records };
}

const setup = (model: string) => Buffer.from(JSON.stringify({ setup: { model } }));

describe.each(SESSIONS)('a $api setup model a server may read as another is refused', ({ path, denied }) => {
  it.each([
    [`models/${denied}.`, 'has blanks, a trailing dot'],
    [`models/${denied} `, 'has blanks, a trailing dot'],
    [`models/${denied}\t`, 'has blanks, a trailing dot'],
    [`models/${denied}\n`, 'has blanks, a trailing dot'],
    [`models/${denied}\u0000`, 'has blanks, a trailing dot'],
    [`models/${denied};x`, 'has blanks, a trailing dot'],
    [` models/${denied}`, 'is a path'],
    [`models/${denied}%20`, 'has blanks, a trailing dot'],
    ['', 'names no model'],
    ['models/', 'names no model'],
    [`models/models/${denied}`, 'is a path'],
    [`tunedModels/${denied}`, 'is a path'],
    [`models/${denied.toUpperCase()}`, 'has upper-case letters'],
    [`${denied[0]!.toUpperCase()}${denied.slice(1)}`, 'has upper-case letters'],
    ['models/..', 'is not a plain model name'],
    ['models/.', 'is not a plain model name'],
    [`models/${denied}?x=1`, 'is not a plain model name'],
    [`models/${denied}#x`, 'is not a plain model name'],
    [`models/${denied},x`, 'is not a plain model name'],
    [`models/${denied}:x`, 'is not a plain model name'],
    [`models/${denied}%2f`, 'is not a plain model name'],
    [`models/${denied.slice(0, -1)}%${denied.charCodeAt(denied.length - 1).toString(16)}`, 'is not a plain model name'],
  ])('%j', async (model, why) => {
    const { messages, records } = await sessionDenying(path, denied);
    const opened = records.length;
    const verdict = await messages.inspect(setup(model), false);
    expect(verdict).toEqual({ action: 'close', code: 1008, reason: expect.stringContaining(`the message's setup.model ${why}`) });
    expect(Buffer.byteLength((verdict as { reason: string }).reason)).toBeLessThanOrEqual(123);
    expect(records.slice(opened)).toEqual([expect.objectContaining({ path, decision: 'blocked', status: 400, errorType: 'invalid_request', via: 'edge' })]);
  });

  it('the model itself is refused by the deny rule, and other models go, with or without models/', async () => {
    const { messages, records } = await sessionDenying(path, denied);
    expect(await messages.inspect(setup(`models/${denied}`), false)).toMatchObject({ action: 'close', code: 1008 });
    expect(records.at(-1)).toMatchObject({ decision: 'blocked', errorType: 'model_blocked', model: denied });
    for (const allowed of [`models/${denied}-002`, `${denied}-002`]) {
      const session = await sessionDenying(path, denied);
      expect(await session.messages.inspect(setup(allowed), false)).toMatchObject({ action: 'forward' });
    }
  });
});
