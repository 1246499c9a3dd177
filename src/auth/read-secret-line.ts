import type { Readable } from 'node:stream';

/** process.stdin as far as reading a secret needs it: a TTY can switch echo off (raw mode). */
export type SecretSource = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

export class SecretInputError extends Error {
  constructor(readonly reason: 'cancelled' | 'too_long', message: string) {
    super(message);
    this.name = 'SecretInputError';
  }
}

/** Longer than any key; stops a mistaken pipe (a whole file) from being read into memory. */
const MAX_LINE_CHARS = 4096;

/**
 * Reads one line holding a secret. On a terminal it prompts on `prompt` (stderr) and reads with echo
 * off, so the secret is neither shown nor left in the scrollback; otherwise it takes the first line
 * of the piped input and stops reading. Never from argv: that lands in shell history and `ps`.
 * Surrounding whitespace (a pasted newline, Windows' `\r`) is removed.
 */
export function readSecretLine(input: SecretSource, prompt: { write(text: string): unknown }, question: string): Promise<string> {
  return input.isTTY && input.setRawMode ? readHidden(input, prompt, question) : readFirstLine(input);
}

function readHidden(input: SecretSource, prompt: { write(text: string): unknown }, question: string): Promise<string> {
  prompt.write(question);
  return new Promise((resolve, reject) => {
    let secret = '';
    let inEscape = false;
    const finish = (error?: SecretInputError) => {
      input.off('data', onData);
      input.setRawMode!(false);
      input.pause();
      // Raw mode swallowed the Enter: end the prompt's line ourselves.
      prompt.write('\n');
      if (error) reject(error);
      else resolve(secret.trim());
    };
    const onData = (chunk: string | Buffer) => {
      for (const char of chunk.toString()) {
        if (inEscape) {
          // Arrow and function keys arrive as ESC [ … letter/~: not part of any key.
          if (/[A-Za-z~]/.test(char)) inEscape = false;
          continue;
        }
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') return finish(new SecretInputError('cancelled', 'Cancelled.'));
        if (char === '\u0004') return secret === '' ? finish(new SecretInputError('cancelled', 'Cancelled: no virtual key was entered.')) : finish();
        if (char === '\u007f' || char === '\b') {
          secret = [...secret].slice(0, -1).join('');
          continue;
        }
        if (char === '\u001b') {
          inEscape = true;
          continue;
        }
        if (char < ' ') continue;
        secret += char;
        if (secret.length > MAX_LINE_CHARS) return finish(new SecretInputError('too_long', `The input is longer than ${MAX_LINE_CHARS} characters; a virtual key is much shorter.`));
      }
    };
    input.setRawMode!(true);
    input.on('data', onData);
    input.resume();
  });
}

function readFirstLine(input: SecretSource): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (error?: Error) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      // Only the first line is wanted: stop reading, so a writer that keeps its end open cannot hold the command.
      input.pause();
      input.destroy();
      if (error) reject(error);
      else resolve(text.trim());
    };
    const onData = (chunk: string | Buffer) => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline >= 0) {
        text = text.slice(0, newline);
        done();
      } else if (text.length > MAX_LINE_CHARS) {
        done(new SecretInputError('too_long', `The first line of the input is longer than ${MAX_LINE_CHARS} characters; a virtual key is much shorter.`));
      }
    };
    const onEnd = () => done();
    const onError = (error: Error) => done(error);
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    input.resume();
  });
}
