import { describe, expect, it } from 'vitest';
import { configuresTranscriptionSession, readRealtimeClientEvent } from '../../src/providers/realtime-events.js';

/**
 * One test says which Realtime events configure a transcription session: the event reading (which model an event names)
 * and the socket's gates (websocket-inspection.ts: whether that model is an Azure deployment) both use it.
 */
describe('a Realtime event that configures a transcription session', () => {
  const transcribing = { model: 'gpt-4o-transcribe' };
  it.each([
    ['a beta transcription_session.update', { type: 'transcription_session.update', session: { input_audio_transcription: transcribing } }, true],
    ['a GA session.update of type transcription', { type: 'session.update', session: { type: 'transcription', audio: { input: { transcription: transcribing } } } }, true],
    ['a GA session.update of a conversation', { type: 'session.update', session: { type: 'realtime', model: 'gpt-realtime', audio: { input: { transcription: transcribing } } } }, false],
    ['a beta session.update without a type', { type: 'session.update', session: { model: 'gpt-realtime', input_audio_transcription: transcribing } }, false],
  ])('is told apart the same way by the reading and the test: %s', (_name, event, transcription) => {
    expect(configuresTranscriptionSession(event)).toBe(transcription);
    const reading = readRealtimeClientEvent(event);
    expect(reading.model).toBe(transcription ? 'gpt-4o-transcribe' : 'gpt-realtime');
    expect(reading.transcriptionModel).toBe(transcription ? null : 'gpt-4o-transcribe');
  });

  it('is no other message', () => {
    for (const event of [{ type: 'response.create' }, { type: 'setup', session: { type: 'transcription' } }, null, 'session.update']) {
      expect(configuresTranscriptionSession(event)).toBe(false);
    }
  });
});
