import { describe, expect, it } from 'vitest';
import { readClientMessage, webSocketApiOf, type WebSocketApi } from '../../src/proxy/websocket-messages.js';
import { closeReason } from '../../src/proxy/websocket-close-reason.js';

const LIMIT = 1024 * 1024;
const text = (api: WebSocketApi, message: unknown) => readClientMessage(api, Buffer.from(JSON.stringify(message)), false, LIMIT);
const spans = (api: WebSocketApi, message: unknown) => {
  const read = text(api, message);
  if (read.kind !== 'json') throw new Error(`expected a JSON message, got ${JSON.stringify(read)}`);
  return read.texts.map((t) => ({ path: t.path.join('.'), text: t.text, kind: t.kind }));
};

describe('which WebSocket APIs Edge reads', () => {
  it.each([
    ['openai', '/v1/realtime?model=gpt-realtime', 'openai-realtime'],
    ['openai', '/v1/realtime?call_id=rtc_1', 'openai-realtime'],
    ['gemini', '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=AIza', 'gemini-live'],
    ['gemini', '/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained?access_token=t', 'gemini-live'],
    ['anthropic', '/v1/realtime', undefined],
    ['openai', '/v1/realtime/sessions', undefined],
    ['gemini', '/v1beta/models/gemini-2.0-flash:streamGenerateContent', undefined],
  ])('%s %s → %s', (provider, path, api) => {
    expect(webSocketApiOf(provider, path)).toBe(api);
  });
});

describe('OpenAI Realtime client events: the text the model reads', () => {
  it.each<[string, unknown, Array<{ path: string; text: string; kind: string }>]>([
    ['a user message (input_text) and an audio transcript', {
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }, { type: 'input_audio', audio: 'AAAA', transcript: 'spoken' }, { type: 'input_image', image_url: 'data:image/png;base64,AA' }] },
    }, [{ path: 'item.content.0.text', text: 'hello', kind: 'user' }, { path: 'item.content.1.transcript', text: 'spoken', kind: 'user' }]],
    ['an assistant message replayed (GA output_text, beta text)', {
      type: 'conversation.item.create', item: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'a' }, { type: 'text', text: 'b' }] },
    }, [{ path: 'item.content.0.text', text: 'a', kind: 'assistant' }, { path: 'item.content.1.text', text: 'b', kind: 'assistant' }]],
    ['a function call and its output', {
      type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'c1', output: '{"rows":3}' },
    }, [{ path: 'item.output', text: '{"rows":3}', kind: 'tool_result' }]],
    ['session.update: instructions, prompt variables and the transcription prompt', {
      type: 'session.update',
      session: { type: 'realtime', instructions: 'be brief', prompt: { id: 'pmpt_1', variables: { city: 'Paris' } }, audio: { input: { transcription: { model: 'gpt-4o-transcribe', prompt: 'names: Ada' } } } },
    }, [{ path: 'session.instructions', text: 'be brief', kind: 'system' }, { path: 'session.audio.input.transcription.prompt', text: 'names: Ada', kind: 'system' }, { path: 'session.prompt.variables.city', text: 'Paris', kind: 'user' }]],
    ['response.create: instructions and out-of-band input items', {
      type: 'response.create', response: { instructions: 'summarise', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'this' }] }] },
    }, [{ path: 'response.instructions', text: 'summarise', kind: 'system' }, { path: 'response.input.0.content.0.text', text: 'this', kind: 'user' }]],
    ['audio is not text', { type: 'input_audio_buffer.append', audio: 'UklGRg==' }, []],
    ['an event type Edge does not know has every string read', { type: 'conversation.item.annotate', event_id: 'e1', note: { body: 'x' } }, [{ path: 'note.body', text: 'x', kind: 'other' }]],
  ])('%s', (_name, event, expected) => {
    expect(spans('openai-realtime', event)).toEqual(expected);
  });

  it('session.update names a model when it sets one', () => {
    expect(text('openai-realtime', { type: 'session.update', session: { model: 'gpt-realtime' } })).toMatchObject({ kind: 'json', name: 'session.update', model: 'gpt-realtime' });
  });
});

describe('Gemini Live client messages: the model and the text', () => {
  it('setup names the model (without models/) and its system instruction is read', () => {
    const read = text('gemini-live', { setup: { model: 'models/gemini-2.0-flash-live-001', systemInstruction: { parts: [{ text: 'be kind' }] }, tools: [{ functionDeclarations: [{ name: 'lookup' }] }] } });
    expect(read).toMatchObject({ kind: 'json', name: 'setup', model: 'gemini-2.0-flash-live-001', tools: [{ name: 'lookup', kind: 'definition' }] });
    expect(spans('gemini-live', { setup: { model: 'models/m', system_instruction: { parts: [{ text: 'be kind' }] } } })).toEqual([{ path: 'setup.system_instruction.parts.0.text', text: 'be kind', kind: 'system' }]);
  });

  it.each<[string, unknown, Array<{ path: string; text: string; kind: string }>]>([
    ['clientContent turns', { clientContent: { turns: [{ role: 'user', parts: [{ text: 'hi' }] }, { role: 'model', parts: [{ text: 'yo' }] }], turnComplete: true } },
      [{ path: 'clientContent.turns.0.parts.0.text', text: 'hi', kind: 'user' }, { path: 'clientContent.turns.1.parts.0.text', text: 'yo', kind: 'assistant' }]],
    ['client_content, as Google also spells it', { client_content: { turns: [{ parts: [{ text: 'hi' }] }] } }, [{ path: 'client_content.turns.0.parts.0.text', text: 'hi', kind: 'user' }]],
    ['realtimeInput text', { realtimeInput: { text: 'typed' } }, [{ path: 'realtimeInput.text', text: 'typed', kind: 'user' }]],
    ['realtimeInput audio and media chunks are not text', { realtimeInput: { audio: { mimeType: 'audio/pcm;rate=16000', data: 'AAAA' }, mediaChunks: [{ mimeType: 'image/jpeg', data: 'AAAA' }] } }, []],
    ['a media chunk whose type is text is', { realtimeInput: { mediaChunks: [{ mimeType: 'text/plain', data: Buffer.from('typed').toString('base64') }] } }, [{ path: 'realtimeInput.mediaChunks.0.data', text: 'typed', kind: 'user' }]],
    ['toolResponse results', { toolResponse: { functionResponses: [{ id: '1', name: 'lookup', response: { rows: ['r1'] } }] } }, [{ path: 'toolResponse.functionResponses.0.response.rows.0', text: 'r1', kind: 'tool_result' }]],
  ])('%s', (_name, message, expected) => {
    expect(spans('gemini-live', message)).toEqual(expected);
  });
});

describe('what Edge cannot read is not relayed', () => {
  it('a text frame that is not JSON closes the socket, saying where the JSON broke and quoting nothing', () => {
    const read = readClientMessage('openai-realtime', Buffer.from('{"type": sk-secret'), false, LIMIT);
    expect(read).toMatchObject({ kind: 'unreadable', code: 1007, errorType: 'invalid_request' });
    expect(read.kind === 'unreadable' && read.message).toMatch(/not valid JSON .*line 1, column 10/);
    expect(JSON.stringify(read)).not.toContain('sk-secret');
  });

  it('a message over the body limit closes the socket with 1009 (message too big), naming the limit', () => {
    const read = readClientMessage('gemini-live', Buffer.alloc(2048, 0x20), false, 1024);
    expect(read).toMatchObject({ kind: 'unreadable', code: 1009, status: 413 });
    expect(read.kind === 'unreadable' && read.message).toContain('1024-byte limit');
  });

  it('a message of the wrong shape closes the socket, naming the field', () => {
    const read = text('openai-realtime', { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: 'flat' } });
    expect(read).toMatchObject({ kind: 'unreadable', code: 1008 });
    expect(read.kind === 'unreadable' && read.message).toContain('item.content must be an array of content parts');
    expect(text('gemini-live', { setup: { generationConfig: {} } })).toMatchObject({ kind: 'unreadable', message: expect.stringContaining('setup.model is required') });
  });

  it('binary audio goes as it is; a binary frame holding a JSON message is read like text', () => {
    expect(readClientMessage('openai-realtime', Buffer.from([0x52, 0x49, 0x46, 0x46, 0x7b, 0x00]), true, LIMIT)).toEqual({ kind: 'binary' });
    const json = readClientMessage('gemini-live', Buffer.from(JSON.stringify({ realtimeInput: { text: 'typed' } })), true, LIMIT);
    expect(json).toMatchObject({ kind: 'json', texts: [{ text: 'typed' }] });
  });

  it('the Responses API has no binary messages: any binary frame closes the socket with 1003', () => {
    const turn = JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', input: 'use sk-secret' });
    for (const data of [Buffer.from(turn), Buffer.from(`${turn} x`), Buffer.from([0x52, 0x49, 0x46, 0x46])]) {
      const read = readClientMessage('openai-responses', data, true, LIMIT);
      expect(read).toMatchObject({ kind: 'unreadable', code: 1003, errorType: 'invalid_request', message: expect.stringContaining('send it as text') });
      expect(Buffer.byteLength(read.kind === 'unreadable' ? read.message : '')).toBeLessThanOrEqual(123);
    }
  });

  describe('a binary frame holding JSON a lenient server could read is read or refused, never relayed unread', () => {
    /** `text` in UTF-32 of that byte order (a mark, if wanted, is part of the text). */
    const utf32 = (text: string, littleEndian: boolean) => {
      const codePoints = [...text].map((character) => character.codePointAt(0)!);
      const data = Buffer.alloc(codePoints.length * 4);
      codePoints.forEach((codePoint, i) => (littleEndian ? data.writeUInt32LE(codePoint, i * 4) : data.writeUInt32BE(codePoint, i * 4)));
      return data;
    };
    const event = JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'use sk-secret' }] } });
    const binary = (data: Buffer) => readClientMessage('openai-realtime', data, true, LIMIT);

    it('a UTF-8 byte-order mark is skipped and the JSON read', () => {
      expect(binary(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(event)]))).toMatchObject({ kind: 'json', texts: [{ text: 'use sk-secret' }] });
    });

    it.each([
      ['UTF-16LE', Buffer.from(event, 'utf16le'), /in UTF-16/],
      ['UTF-16LE with its mark', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(` ${event}`, 'utf16le')]), /in UTF-16/],
      ['UTF-16BE', Buffer.from(event, 'utf16le').swap16(), /in UTF-16/],
      // Python's json.loads(bytes) reads UTF-32 too, by its mark or by the zero bytes of the first characters.
      ['UTF-32BE', utf32(event, false), /in UTF-32/],
      ['UTF-32LE', utf32(event, true), /in UTF-32/],
      ['UTF-32LE with its mark (which starts as UTF-16LE\'s)', utf32(`\ufeff ${event}`, true), /in UTF-32/],
      ['UTF-32BE with its mark', utf32(`\ufeff${event}`, false), /in UTF-32/],
      ['UTF-8 with a byte that is not UTF-8', Buffer.concat([Buffer.from(event.slice(0, -10)), Buffer.from([0xff]), Buffer.from(event.slice(-10))]), /not valid UTF-8/],
      // Go's json.Decoder reads the first value and ignores the rest: the event would run, unread.
      ['the event followed by other bytes', Buffer.from(`${event} x`), /not one JSON value/],
      ['the event followed by a NUL byte', Buffer.from(`${event}\u0000`), /not one JSON value/],
      ['two events back to back', Buffer.from(event + event), /not one JSON value/],
      ['white space, then the event and another', Buffer.from(`\r\n ${event}${event}`), /not one JSON value/],
      ['an array, then other bytes', Buffer.from(`[${event}]]`), /not one JSON value/],
      // Audio is not sent in binary frames on the Realtime API or Gemini Live (it is base64 in JSON): data that
      // starts as JSON is JSON, so what used to pass as "audio that starts with {" is now refused.
      ['data that starts with {', Buffer.from([0x7b, 0x00, 0xff, 0x10, 0x7b, 0x00]), /not valid UTF-8|not one JSON value/],
      ['data that starts like UTF-16 JSON', Buffer.from([0x7b, 0x00, 0x22, 0x00, 0x01, 0xd8]), /not valid UTF-8|not one JSON value/],
      ['data that starts like UTF-32LE JSON but is none', Buffer.from([0x7b, 0x00, 0x00, 0x00, 0x10, 0x20, 0x30, 0x40]), /not valid UTF-8|not one JSON value/],
    ])('%s is refused with 1007, quoting nothing', (_name, data, reason) => {
      const read = binary(data);
      expect(read).toMatchObject({ kind: 'unreadable', code: 1007, errorType: 'invalid_request', message: expect.stringMatching(reason) });
      expect(JSON.stringify(read)).not.toContain('sk-secret');
    });

    it('an array is read as a message (and refused as no event)', () => {
      expect(binary(Buffer.from(` [${event}]\n`))).toMatchObject({ kind: 'unreadable', code: 1008 });
    });

    it.each([
      ['audio with a { after its first byte', Buffer.from([0x00, 0x7b, 0xff, 0x10, 0x7b, 0x00])],
      ['silence', Buffer.alloc(4800)],
      ['audio that starts like UTF-32BE JSON but is none', Buffer.from([0x00, 0x00, 0x00, 0x7b, 0xff, 0xff, 0xff, 0xff])],
      ['audio that starts with white space', Buffer.from([0x20, 0x0a, 0x01, 0x7b])],
    ])('%s passes', (_name, data) => {
      expect(binary(data)).toEqual({ kind: 'binary' });
    });
  });

  it.each([
    ['a Realtime item twice, the first holding the secret', 'openai-realtime', false,
      '{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"use sk-secret"}]},"item":{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}}',
      'the key item twice'],
    ['Gemini Live turns twice', 'gemini-live', false, '{"clientContent":{"turns":[{"parts":[{"text":"use sk-secret"}]}],"turns":[{"parts":[{"text":"hi"}]}]}}', 'the key clientContent.turns twice'],
    ['a key twice in a binary JSON message', 'gemini-live', true, '{"realtimeInput":{"text":"use sk-secret","text":"hi"}}', 'the key realtimeInput.text twice'],
    ['a key that may be data, not quoted', 'openai-realtime', false, '{"type":"session.update","session":{"prompt":{"id":"p","variables":{"sk-secret":"a","sk-secret":"b"}}}}', 'a key inside session.prompt.variables twice'],
  ] as const)('%s closes the socket with 1008, naming the path and never a value', (_name, api, isBinary, message, where) => {
    const read = readClientMessage(api, Buffer.from(message), isBinary, LIMIT);
    expect(read).toMatchObject({ kind: 'unreadable', code: 1008, errorType: 'invalid_request', message: expect.stringContaining(where) });
    expect(JSON.stringify(read)).not.toContain('sk-secret');
    expect(Buffer.byteLength(read.kind === 'unreadable' ? read.message : '')).toBeLessThanOrEqual(123);
  });

  it('close reasons fit the 123 bytes a close frame allows, cut at a character', () => {
    const reason = closeReason(`Bifrost Edge blocked a message: ${'é'.repeat(200)}`);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason.endsWith('…')).toBe(true);
    expect(reason).not.toContain('\ufffd');
    expect(closeReason('short')).toBe('short');
  });
});
