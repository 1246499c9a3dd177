// `node --import ./register.mjs dist/main/main.js`: runs the Electron main process in plain Node with
// `electron` replaced by the recording stand-in next to this file (Electron's binary is not available in CI).
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
