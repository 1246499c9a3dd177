/**
 * Standalone entry for `bifrost-edge control serve` (until the CLI dispatches to it, and for tests):
 * node dist/src/control/server/serve-cli-entry.js --config F
 */
import { runControlServeCommand } from './serve-command.js';

process.exitCode = await runControlServeCommand(process.argv.slice(2));
