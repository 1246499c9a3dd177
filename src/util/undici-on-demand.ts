/**
 * undici, loaded the first time Edge actually makes a request with it. Importing it costs ~12 MiB of
 * resident memory (measured: 58 → 70 MiB), and the clients that use it — audit shipping, OTLP export,
 * content-safety moderation — are idle or absent on many devices (local mode has none of them).
 */
type Undici = typeof import('undici');

let loading: Promise<Undici> | undefined;

export function undici(): Promise<Undici> {
  loading ??= import('undici');
  return loading;
}
