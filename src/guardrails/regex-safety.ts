/**
 * Refuses regexes that can backtrack catastrophically, before they ever see a prompt. JavaScript regexes
 * backtrack, and one bad custom rule would stall every request through the proxy. Two layers:
 *  1. a conservative static check on the pattern's structure (nested quantifiers, ambiguous alternation
 *     under repetition);
 *  2. a timed probe against adversarial inputs built from the pattern's own characters, growing the input
 *     in small steps so an exponential blow-up is caught at ~20 characters, long before it could hang.
 * Conservative means some safe patterns are refused; the error says how to rewrite them.
 */
import { performance } from 'node:perf_hooks';
import { CharSet } from './char-set.js';
import { parseRegex, type RegexNode } from './regex-ast.js';

export interface RegexSafetyProblem {
  /** The part of the pattern at fault, as written. */
  fragment: string;
  /** What is wrong and how to fix it, in one sentence a policy author can act on. */
  reason: string;
}

/** Static structural check. Returns the first problem found, or undefined when the shape is safe. */
export function findBacktrackingRisk(source: string, flags = ''): RegexSafetyProblem | undefined {
  const root = parseRegex(source, flags);
  let problem: RegexSafetyProblem | undefined;
  walk(root, (node) => {
    if (problem || node.kind !== 'quant' || node.max <= 1) return;
    problem = nestedQuantifierProblem(node, source) ?? ambiguousAlternationProblem(node, source);
  });
  return problem;
}

function nestedQuantifierProblem(outer: Extract<RegexNode, { kind: 'quant' }>, source: string): RegexSafetyProblem | undefined {
  const inner: RegexNode[] = [];
  walk(outer.body, (node) => {
    if ((node.kind === 'quant' && node.max > 1 && node.min !== node.max) || node.kind === 'backref') inner.push(node);
  });
  if (inner.length === 0) return undefined;
  const innerChars = inner.reduce((set, node) => set.union(consumable(node)), CharSet.EMPTY);
  if (mandatorySeparators(outer.body).some((sep) => !sep.intersects(innerChars))) return undefined;
  const first = inner[0]!;
  return {
    fragment: source.slice(outer.at, outer.to),
    reason:
      `nested quantifier: the repeated group contains \`${source.slice(first.at, first.to)}\`, which can split the same text ` +
      'in exponentially many ways (like (a+)+ or (.*)*). Remove the inner or the outer quantifier, or make each ' +
      'repetition contain a character the inner part cannot match (for example (\\w+,)+ instead of (\\w+,?)+)',
  };
}

function ambiguousAlternationProblem(outer: Extract<RegexNode, { kind: 'quant' }>, source: string): RegexSafetyProblem | undefined {
  let problem: RegexSafetyProblem | undefined;
  walk(outer.body, (node) => {
    if (problem || node.kind !== 'alt') return;
    const branches = node.branches;
    for (let i = 0; i < branches.length && !problem; i++) {
      for (let j = i + 1; j < branches.length && !problem; j++) {
        const a = branches[i]!;
        const b = branches[j]!;
        if (nullable(a) || nullable(b) || firstChars(a).intersects(firstChars(b))) {
          problem = {
            fragment: source.slice(outer.at, outer.to),
            reason:
              `ambiguous alternation under repetition: \`${source.slice(a.at, a.to)}\` and \`${source.slice(b.at, b.to)}\` can ` +
              'start with the same character (or match nothing), so a failing match retries every combination (like (a|a)* ' +
              'or (a|ab)*). Make the alternatives start differently, merge them into one character class, or drop the repetition',
          };
        }
      }
    }
  });
  return problem;
}

function walk(node: RegexNode, visit: (node: RegexNode) => void): void {
  visit(node);
  switch (node.kind) {
    case 'seq':
      node.items.forEach((item) => walk(item, visit));
      break;
    case 'alt':
      node.branches.forEach((branch) => walk(branch, visit));
      break;
    case 'group':
    case 'quant':
      walk(node.body, visit);
      break;
    default:
      break;
  }
}

/** Single characters every repetition of `body` must consume: they separate one repetition from the next. */
function mandatorySeparators(body: RegexNode): CharSet[] {
  const unwrapped = body.kind === 'group' && !body.lookaround ? body.body : body;
  const items = unwrapped.kind === 'seq' ? unwrapped.items : [unwrapped];
  const out: CharSet[] = [];
  for (const item of items) {
    if (item.kind === 'chars') out.push(item.set);
    else if (item.kind === 'quant' && item.min >= 1 && item.min === item.max && item.body.kind === 'chars') out.push(item.body.set);
  }
  return out;
}

function consumable(node: RegexNode): CharSet {
  switch (node.kind) {
    case 'chars':
      return node.set;
    case 'seq':
      return node.items.reduce((set, item) => set.union(consumable(item)), CharSet.EMPTY);
    case 'alt':
      return node.branches.reduce((set, branch) => set.union(consumable(branch)), CharSet.EMPTY);
    case 'group':
      return node.lookaround ? CharSet.EMPTY : consumable(node.body);
    case 'quant':
      return consumable(node.body);
    case 'backref':
      return CharSet.ANY;
    default:
      return CharSet.EMPTY;
  }
}

function nullable(node: RegexNode): boolean {
  switch (node.kind) {
    case 'chars':
      return false;
    case 'seq':
      return node.items.every(nullable);
    case 'alt':
      return node.branches.some(nullable);
    case 'group':
      return node.lookaround || nullable(node.body);
    case 'quant':
      return node.min === 0 || nullable(node.body);
    default:
      return true;
  }
}

function firstChars(node: RegexNode): CharSet {
  switch (node.kind) {
    case 'chars':
      return node.set;
    case 'seq': {
      let set = CharSet.EMPTY;
      for (const item of node.items) {
        set = set.union(firstChars(item));
        if (!nullable(item)) break;
      }
      return set;
    }
    case 'alt':
      return node.branches.reduce((set, branch) => set.union(firstChars(branch)), CharSet.EMPTY);
    case 'group':
      return node.lookaround ? CharSet.EMPTY : firstChars(node.body);
    case 'quant':
      return firstChars(node.body);
    case 'backref':
      return CharSet.ANY;
    default:
      return CharSet.EMPTY;
  }
}

export interface ProbeResult {
  ok: boolean;
  /** Slowest single run, in milliseconds. */
  slowestMs: number;
  /** Description of the input that was slowest (never contains user data: it is built from the pattern). */
  slowestInput: string;
}

/** Small steps first: an exponential pattern must be stopped before one step costs seconds. */
const PROBE_LENGTHS = [4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 64, 256, 1024, 4096, 16384, 65536];
const ENDINGS = ['', '!', '\u0000', '\n'];

/**
 * Runs the regex over adversarial strings made of characters the pattern itself uses (runs of one character,
 * alternations of two), each ending in a character that forces a failure. `budgetMs` bounds one run.
 */
export function probeRegexTiming(pattern: RegExp, budgetMs = 50): ProbeResult {
  const root = parseRegex(pattern.source, pattern.flags);
  const alphabet = probeAlphabet(root);
  const units = [...alphabet, ...pairs(alphabet)];
  const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  let slowestMs = 0;
  let slowestInput = '';
  for (const unit of units) {
    for (const ending of ENDINGS) {
      for (const length of PROBE_LENGTHS) {
        // Pairs only need the short lengths (alternation blow-ups); long inputs use single-character runs.
        if (unit.length > 1 && length > 4096) break;
        const input = unit.repeat(Math.ceil(length / unit.length)) + ending;
        let elapsed = timeOnce(re, input);
        // A stall of the whole process (GC, a busy machine) is not the pattern's fault: confirm before refusing.
        if (elapsed > budgetMs) elapsed = Math.min(elapsed, timeOnce(re, input));
        if (elapsed > slowestMs) [slowestMs, slowestInput] = [elapsed, describe(unit, length, ending)];
        if (elapsed > budgetMs) return { ok: false, slowestMs, slowestInput };
      }
    }
  }
  return { ok: true, slowestMs, slowestInput };
}

function timeOnce(re: RegExp, input: string): number {
  const started = performance.now();
  re.exec(input);
  return performance.now() - started;
}

const MAX_ALPHABET = 8;

function probeAlphabet(root: RegexNode): string[] {
  const chars = new Set<string>();
  walk(root, (node) => {
    if (node.kind === 'chars') node.set.samples(2).forEach((c) => chars.add(c));
  });
  ['a', '0', ' ', '='].forEach((c) => chars.add(c));
  return [...chars].slice(0, MAX_ALPHABET + 4);
}

function pairs(alphabet: string[]): string[] {
  const head = alphabet.slice(0, 4);
  return head.flatMap((a) => head.filter((b) => b !== a).map((b) => a + b));
}

function describe(unit: string, length: number, ending: string): string {
  return `${JSON.stringify(unit)} repeated to ${length} chars${ending ? ` then ${JSON.stringify(ending)}` : ''}`;
}
