import { z } from 'zod';
import { isLoopbackHttpUrl } from '../auth/loopback.js';

/** Addresses a listener may bind: loopback only, so decrypted traffic never reaches the network. */
export const LOOPBACK_HOSTS = /^(127(\.\d{1,3}){3}|::1|localhost)$/;

/** An http(s) URL with a host, with the error people see when they get it wrong. */
export const httpUrl = z.string().refine((value) => {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}, { message: 'must be an http:// or https:// URL, e.g. https://bifrost.example.com' });

/**
 * The URL of a server Edge hands secrets to: https://, or plain http:// on this machine only (tests, a
 * local stand-in), the rule auth.issuer follows. `sends` says what would cross the network in clear.
 */
export function secureServiceUrl(sends: string) {
  return httpUrl.superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return; // httpUrl already said what is wrong with it.
    }
    if (url.protocol === 'http:' && !isLoopbackHttpUrl(url)) {
      ctx.addIssue({ code: 'custom', message: `must use https:// (plain http:// only for 127.0.0.1/localhost): Edge sends ${sends} there, which must never cross a network unencrypted; got ${value}` });
    }
  });
}
