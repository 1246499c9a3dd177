import { z } from 'zod';

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
