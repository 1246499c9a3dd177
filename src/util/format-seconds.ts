/** A timeout as people read it in an error message: whole seconds, or milliseconds below one second. */
export function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}
