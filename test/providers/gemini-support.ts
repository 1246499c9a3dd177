import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { geminiAdapter } from '../../src/providers/gemini.js';
import { req } from './support.js';

/** The Gemini API host and its catalog entry, as the proxy resolves them. */
export const geminiHost = 'generativelanguage.googleapis.com';
export const geminiEntry = compileSurfaceCatalog(DEFAULT_SURFACES).match(geminiHost)!;

/** Recognises a POST to `path` on the Gemini API and parses `body` as its adapter does. */
export function parseGemini(path: string, body: unknown) {
  const route = geminiAdapter.recognize(req('POST', geminiHost, path), geminiEntry);
  if (!route) throw new Error(`${path} not recognised`);
  return geminiAdapter.parse(route, body, geminiEntry);
}
