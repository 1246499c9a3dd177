#!/usr/bin/env -S node --max-semi-space-size=32
// V8 flags: src/agent-v8-flags.ts says why (given at start: V8 sizes its heap then).
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the `prepare` script).
import('../dist/src/cli.js').then((cli) => cli.main(process.argv.slice(2))).then(() => {
  // A command that failed must not linger on a half-started service's handles.
  if (process.exitCode) process.exit(process.exitCode);
}).catch((err) => {
  console.error(`bifrost-edge: ${err && err.message ? err.message : err}`);
  if (String(err && err.code) === 'ERR_MODULE_NOT_FOUND') console.error('The build is missing: run `npm ci` (or `npm run build`) first.');
  process.exit(1);
});
