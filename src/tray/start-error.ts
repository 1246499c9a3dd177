/**
 * One line for the tray (tooltip and menu) from a start-up error whose full text goes to the error
 * dialog: config errors are multi-line ("invalid configuration:\n- proxy.port (from …): …"), and a line
 * ending in a colon says nothing on its own.
 */
export function startErrorSummary(message: string): string {
  const lines = message.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const first = (lines[0] ?? 'unknown error').replace(/[.:]+$/, '');
  const detail = lines[1]?.replace(/^- /, '').replace(/[.:]+$/, '');
  return lines[0]?.endsWith(':') && detail ? `${first}: ${detail}` : first;
}

/** "listen EADDRINUSE: address already in use 127.0.0.1:8790." with a hint on what to do. */
export function describeStartFailure(error: NodeJS.ErrnoException, port: number): string {
  const message = error.message.replace(/\.+$/, '');
  if (error.code === 'EADDRINUSE') return `${message}. Port ${port} is in use: is \`bifrost-edge run\` already running? Stop it, then start the app again.`;
  return `${message}.`;
}
