import { MAX_COMMAND_ARG_CHARS, MAX_COMMAND_ARGS } from './decision-protocol.js';
import { maskCommand } from './servers-seen.js';

/**
 * The wrapped server's command line as the wrapper tells the agent (which only lists it in the inventory):
 * credentials masked first, then each argument shortened and their number capped to what the decision
 * protocol takes. An inline JSON config longer than that must not make every call fail.
 */
export function commandForAgent(command: readonly string[]): string[] {
  const masked = maskCommand(command).map(shorten);
  if (masked.length <= MAX_COMMAND_ARGS) return masked;
  const kept = masked.slice(0, MAX_COMMAND_ARGS - 1);
  return [...kept, `…[${masked.length - kept.length} more arguments]`];
}

function shorten(arg: string): string {
  if (arg.length <= MAX_COMMAND_ARG_CHARS) return arg;
  const marker = `…[${arg.length} characters in all]`;
  return `${arg.slice(0, MAX_COMMAND_ARG_CHARS - marker.length)}${marker}`;
}
