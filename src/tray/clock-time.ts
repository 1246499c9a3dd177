/**
 * A moment as a clock shows it ("at 15:30", "on 6 Dec at 09:00"), in this computer's time zone.
 *
 * The tray says when things happen this way rather than "in 1h 30m" or "5m ago": its menu is rebuilt
 * whenever its text changes, rebuilding closes an open menu on Windows, and a countdown would change
 * the text every minute while nothing happened.
 */
export function clockTime(ms: number, nowMs: number): string {
  const when = new Date(ms);
  // Formatters made per call: the time zone is read when they are made, and the tray calls this rarely.
  const time = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(when);
  if (when.toDateString() === new Date(nowMs).toDateString()) return `at ${time}`;
  return `on ${new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short' }).format(when)} at ${time}`;
}
