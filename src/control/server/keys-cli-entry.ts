/**
 * Standalone entry for `bifrost-edge control keys` (until the CLI dispatches to it, and for tests):
 * node dist/src/control/server/keys-cli-entry.js list --config F
 */
import { runControlKeysCommand } from './keys-command.js';

process.exitCode = await runControlKeysCommand(process.argv.slice(2));
