import { describe, expect, it } from 'vitest';
import { applyGuardrails } from '../../src/guardrails/apply-guardrails.js';
import { MIN_CACHED_CHARS, scanTextsRemembered } from '../../src/guardrails/scan-cache.js';
import { scanText } from '../../src/guardrails/scan-text.js';
import type { TextSpan } from '../../src/providers/types.js';
import { compile } from './compile-or-throw.js';
import { ALNUM, Fake, j } from './corpus/fake-data.js';

/**
 * An agent resends its tool definitions on every turn: a description and many short parameter descriptions
 * each, every one too short for the single-text memory. The strings of one definition are remembered together.
 */

const f = new Fake('tool-definition-scan-cache');
const githubToken = j('gh', 'p_', f.str(ALNUM, 36));

/** One tool definition's strings: a description and short parameter descriptions, long enough together to be remembered. */
function definitionTexts(tag: string, extra = ''): string[] {
  const parameters = Array.from({ length: 12 }, (_, i) => `Parameter ${i} of ${tag}: the path of the file to read, relative to the repository root.`);
  return [`Reads a file for ${tag}.${extra}`, ...parameters];
}

describe('scanTextsRemembered', () => {
  it('answers what scanning each text answers', () => {
    const policy = compile();
    const texts = definitionTexts('equal', ` Mail jane.doe@acme-corp.com, token ${githubToken}.`);
    expect(texts.every((text) => text.length < MIN_CACHED_CHARS)).toBe(true);
    const expected = texts.map((text) => scanText(text, policy));
    expect(expected[0]!.map((finding) => finding.type).sort()).toEqual(['email', 'secret']);
    expect(scanTextsRemembered(texts, policy)).toEqual(expected);
  });

  it('answers a definition it has scanned under the same policy from memory, with frozen findings', () => {
    const policy = compile();
    const texts = definitionTexts('remembered', ' Mail jane.doe@acme-corp.com.');
    const first = scanTextsRemembered(texts, policy);
    expect(scanTextsRemembered([...texts], policy)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first[0])).toBe(true);
    expect(Object.isFrozen(first[0]![0])).toBe(true);
  });

  it('tells apart the same characters split into texts differently', () => {
    const policy = compile();
    const [head, ...rest] = definitionTexts('split');
    const whole = [`${head} Mail jane.doe@acme-corp.com`, ...rest];
    const cut = [`${head} Mail jane.doe@acme-`, 'corp.com', ...rest];
    expect(scanTextsRemembered(whole, policy)[0]!.map((finding) => finding.type)).toEqual(['email']);
    expect(scanTextsRemembered(cut, policy)[0]).toEqual([]);
  });

  it('scans a short definition every time, and again under another policy', () => {
    const short = ['Sends mail to jane.doe@acme-corp.com'];
    const policy = compile();
    const first = scanTextsRemembered(short, policy);
    expect(first[0]).toHaveLength(1);
    expect(scanTextsRemembered(short, policy)).not.toBe(first);

    const texts = definitionTexts('policies', ' Mail jane.doe@acme-corp.com.');
    expect(scanTextsRemembered(texts, policy)[0]).toHaveLength(1);
    expect(scanTextsRemembered(texts, compile({ pii: false }))[0]).toEqual([]);
  });
});

describe('applyGuardrails with grouped tool definition spans', () => {
  const toolSpans = (descriptions: string[][]): TextSpan[] =>
    descriptions.flatMap((texts, tool) =>
      texts.map((text, i): TextSpan => ({
        path: i === 0 ? ['tools', tool, 'description'] : ['tools', tool, 'input_schema', 'properties', `p${i}`, 'description'],
        text,
        kind: 'tool_definition',
        group: `tools.${tool}`,
      })),
    );
  const bodyOf = (descriptions: string[][]) => ({
    model: 'claude-sonnet-4-5',
    messages: [{ role: 'user', content: 'hi' }],
    tools: descriptions.map(([description, ...parameters], tool) => ({
      name: `tool_${tool}`,
      description,
      input_schema: { type: 'object', properties: Object.fromEntries(parameters.map((text, i) => [`p${i + 1}`, { type: 'string', description: text }])) },
    })),
  });

  it('decides every turn as scanning span by span would, and redacts in place', () => {
    const policy = compile();
    const definitions = [definitionTexts('read'), definitionTexts('mail', ' Defaults to jane.doe@acme-corp.com.')];
    const body = bodyOf(definitions);
    const grouped = toolSpans(definitions);
    const ungrouped = grouped.map(({ group: _group, ...span }) => span);
    for (let turn = 0; turn < 3; turn++) {
      const result = applyGuardrails(grouped, body, policy);
      expect(result).toEqual(applyGuardrails(ungrouped, body, compile()));
      expect(result.decision).toBe('redact');
      expect(result.findings.map((finding) => finding.path)).toEqual([['tools', 1, 'description']]);
      const sent = result.redactedBody as ReturnType<typeof bodyOf>;
      expect(sent.tools[1]!.description).toBe('Reads a file for mail. Defaults to [REDACTED:email].');
      expect(sent.tools[0]).toEqual(body.tools[0]);
    }
    const withToken = [definitions[0]!, [definitions[1]![0]!, `token ${githubToken}`, ...definitions[1]!.slice(2)]];
    const blocked = applyGuardrails(toolSpans(withToken), bodyOf(withToken), policy);
    expect(blocked.decision).toBe('block');
    expect(blocked.blockError?.message).toContain('tools[1].input_schema.properties.p1.description');
  });
});
