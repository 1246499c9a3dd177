import { expect, it } from 'vitest';
import { createAnswerTextReader, extractAnswerText } from '../../src/proxy/answer-text.js';

/**
 * OpenAI answers that searched the web carry citations beside their text: a page's title and address, shown to the
 * user with the answer. Edge reads them as answer text (what its guardrails scan), each on a line of its own; not
 * their offsets, and not logprobs (whose tokens repeat the text).
 */

const TITLE = 'Contact jane.doe@acme-corp.com';
const URL = 'https://example.com/page?leak=jane.doe@acme-corp.com';

it('reads a Chat message\'s url_citation title and address', () => {
  const answer = { choices: [{ index: 0, message: { role: 'assistant', content: 'See the page.', annotations: [
    { type: 'url_citation', url_citation: { start_index: 0, end_index: 12, title: TITLE, url: URL } },
  ] } }] };
  expect(extractAnswerText(answer)).toBe(`See the page.\n${TITLE}\n\n${URL}\n`);
});

it('reads a Responses output text\'s annotations', () => {
  const answer = { output: [{ type: 'message', content: [{ type: 'output_text', text: 'See the page.', annotations: [
    { type: 'url_citation', start_index: 0, end_index: 12, title: TITLE, url: URL },
  ] }] }] };
  expect(extractAnswerText(answer)).toBe(`See the page.\n${TITLE}\n\n${URL}\n`);
});

it('reads the annotation a streamed Responses answer adds, and a streamed Chat delta\'s', () => {
  const body = Buffer.from([
    `data: ${JSON.stringify({ type: 'response.output_text.annotation.added', item_id: 'msg_1', annotation_index: 0, annotation: { type: 'url_citation', start_index: 0, end_index: 3, title: TITLE, url: URL } })}`,
    `data: ${JSON.stringify({ choices: [{ index: 0, delta: { annotations: [{ type: 'url_citation', url_citation: { start_index: 0, end_index: 3, title: 'Second', url: 'https://example.org/' } }] } }] })}`,
    'data: [DONE]',
    '',
  ].join('\n\n'));
  const reader = createAnswerTextReader('text/event-stream', 1 << 20)!;
  expect(reader.push(body) + reader.end()).toBe(`\n${TITLE}\n\n${URL}\n\nSecond\n\nhttps://example.org/\n`);
});

it('reads no title or address outside a citation, and no logprobs', () => {
  const answer = {
    metadata: { title: 'not a citation', url: 'https://example.com/' },
    choices: [{ message: { content: 'hi' }, logprobs: { content: [{ token: 'hi', logprob: -0.1, bytes: [104, 105], top_logprobs: [{ token: 'hi', logprob: -0.1 }] }] } }],
    output: [{ type: 'message', content: [{ type: 'output_text', text: '', logprobs: [{ token: 'hi', logprob: -0.1 }] }] }],
  };
  expect(extractAnswerText(answer)).toBe('hi');
});
