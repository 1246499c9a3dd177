/**
 * Finds the first value in an XML property list that JSON cannot hold (<date>, <data>) and where it is.
 * plutil's JSON conversion fails on those with one line that names neither the key nor the type, so
 * Edge converts the file to XML instead and points the admin at the exact field.
 * Reads the XML that plutil writes (well-formed, one element per value); not a general plist parser.
 */

export interface NonJsonValue {
  /** Field path in the config's own notation: gateway.caFile, interceptHosts[2]. */
  path: string;
  type: 'date' | 'data';
}

type Container = { kind: 'dict'; path: string; key?: string } | { kind: 'array'; path: string; index: number };

const TOKEN = /<key>([\s\S]*?)<\/key>|<(dict|array)\s*>|<\/(dict|array)\s*>|<(dict|array|string|true|false|data|date)\s*\/>|<(string|integer|real|date|data)\s*>[\s\S]*?<\/\5\s*>/g;

export function firstNonJsonValue(xml: string): NonJsonValue | undefined {
  const stack: Container[] = [];
  const pathOfNextValue = (): string => {
    const parent = stack.at(-1);
    if (!parent) return '';
    if (parent.kind === 'array') return `${parent.path}[${parent.index}]`;
    const key = parent.key ?? '';
    return parent.path ? `${parent.path}.${key}` : key;
  };
  const valueDone = () => {
    const parent = stack.at(-1);
    if (parent?.kind === 'array') parent.index += 1;
    else if (parent) delete parent.key;
  };

  for (const match of xml.matchAll(TOKEN)) {
    const [, key, open, close, empty, scalar] = match;
    if (key !== undefined) {
      const parent = stack.at(-1);
      if (parent?.kind === 'dict') parent.key = unescapeXml(key);
    } else if (open) {
      const path = pathOfNextValue();
      stack.push(open === 'dict' ? { kind: 'dict', path } : { kind: 'array', path, index: 0 });
    } else if (close) {
      stack.pop();
      valueDone();
    } else {
      const type = empty ?? scalar;
      if (type === 'date' || type === 'data') return { path: pathOfNextValue() || '(top level)', type };
      valueDone();
    }
  }
  return undefined;
}

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_, entity: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (entity[0] !== '#') return named[entity.toLowerCase()]!;
    return String.fromCodePoint(entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10));
  });
}
