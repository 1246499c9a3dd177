/**
 * IP addresses. IPv4 needs four valid octets and no fifth part (so OIDs and 1.2.3.4.5 are out); dotted
 * versions with a `v`/`version` word before them are skipped. Not personal, so not findings: loopback,
 * unspecified, broadcast, multicast, netmasks, link-local, and the RFC 5737 / RFC 3849 documentation ranges.
 * Private ranges (10/8, 172.16/12, 192.168/16) are reported with low confidence: they reveal internal
 * network layout but rarely a person.
 */
import type { Finding } from '../finding.js';
import { contextBefore, eachMatch } from './context.js';
import type { PiiDetector } from './detector.js';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![\\w.:-])${OCTET}(?:\\.${OCTET}){3}(?![\\w-]|\\.\\d)`, 'g');
const IPV6_CANDIDATE = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:]|\.\d)/g;
const VERSION_WORDS = /(?:\bv|\bver(?:sion)?|\brelease|\bbuild|\bsdk|\bnode|\bpython|\bjava|\bchrome|\bfirefox|\bios|\bandroid|@|==|>=|<=|~|\^)\s?\.?$/i;

export const ipAddressDetector: PiiDetector = {
  type: 'ip_address',
  keywords: [],
  detect(text) {
    const findings: Finding[] = [];
    if (text.includes('.')) {
      eachMatch(text, IPV4, (m) => {
        if (contextBefore(text, m.index, VERSION_WORDS, 12)) return;
        const confidence = ipv4Confidence(m[0]);
        if (confidence > 0) findings.push({ type: 'ip_address', ruleId: 'ipv4', start: m.index, end: m.index + m[0].length, confidence });
      });
    }
    if (text.includes(':')) {
      eachMatch(text, IPV6_CANDIDATE, (m) => {
        const confidence = ipv6Confidence(m[0]);
        if (confidence > 0) findings.push({ type: 'ip_address', ruleId: 'ipv6', start: m.index, end: m.index + m[0].length, confidence });
      });
    }
    return findings;
  },
};

const NETMASK_OCTETS = new Set([0, 128, 192, 224, 240, 248, 252, 254, 255]);

/** 0 = not a finding. */
export function ipv4Confidence(address: string): number {
  const octets = address.split('.').map(Number);
  const [a = 0, b = 0, c = 0] = octets;
  if (a === 0 || a === 127 || a >= 224) return 0; // unspecified, loopback, multicast, reserved, broadcast
  if (a === 169 && b === 254) return 0; // link-local
  if ((a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return 0;
  if (octets.every((o) => NETMASK_OCTETS.has(o)) && a === 255) return 0;
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)) return 0.4;
  return 0.8;
}

/** Parses the candidate as RFC 4291 text; 0 = invalid or not personal. */
export function ipv6Confidence(candidate: string): number {
  const groups = parseIpv6(candidate);
  if (!groups) return 0;
  if (groups.every((g) => g === 0)) return 0; // ::
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return 0; // ::1
  const first = groups[0] ?? 0;
  if ((first & 0xffc0) === 0xfe80) return 0; // link-local
  if (first >= 0xff00) return 0; // multicast
  if (first === 0x2001 && groups[1] === 0x0db8) return 0; // documentation
  if ((first & 0xfe00) === 0xfc00) return 0.4; // unique local (private)
  return 0.8;
}

function parseIpv6(text: string): number[] | undefined {
  const parts = text.split('::');
  if (parts.length > 2) return undefined;
  const parseSide = (side: string): number[] | undefined => {
    if (side === '') return [];
    const out: number[] = [];
    for (const piece of side.split(':')) {
      if (/^[0-9A-Fa-f]{1,4}$/.test(piece)) out.push(parseInt(piece, 16));
      else if (/^(?:\d{1,3}\.){3}\d{1,3}$/.test(piece) && piece.split('.').every((o) => Number(o) <= 255)) {
        const [p, q, r, s] = piece.split('.').map(Number) as [number, number, number, number];
        out.push((p << 8) | q, (r << 8) | s);
      } else return undefined;
    }
    return out;
  };
  const head = parseSide(parts[0] ?? '');
  const tail = parts.length === 2 ? parseSide(parts[1] ?? '') : [];
  if (!head || !tail) return undefined;
  if (parts.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  // `a::b` style with one short group on each side is more often code (`Foo::Bar` in hex) than an address.
  if (head.length + tail.length < 2) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}
