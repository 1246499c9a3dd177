/** A CONNECT or absolute-URI target, split into host and port. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host:port` as sent in a CONNECT request line (IPv6 in brackets). Returns undefined for
 * anything malformed so the caller can answer 400 instead of dialing a garbage address.
 */
export function parseConnectTarget(target: string | undefined, defaultPort = 443): HostPort | undefined {
  if (!target) return undefined;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/\s]+))(?::(\d{1,5}))?$/.exec(target.trim());
  if (!match) return undefined;
  const host = (match[1] ?? match[2] ?? '').toLowerCase().replace(/\.$/, '');
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** Host part of a Host header (`api.openai.com:443` → `api.openai.com`), lower-cased; undefined when malformed. */
export function hostOfHostHeader(value: string): string | undefined {
  return parseConnectTarget(value, 443)?.host;
}
