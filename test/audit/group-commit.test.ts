import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuditRecordSchema } from '../../src/control/protocol/audit.js';
import { auditContent } from '../../src/audit/content.js';
import { GroupCommit } from '../../src/audit/group-commit.js';

describe('GroupCommit', () => {
  it('hands everything added in one turn to a single commit, in order', async () => {
    const groups: number[][] = [];
    const queue = new GroupCommit<number, string>((items) => { groups.push(items); return items.map((i) => `ok${i}`); }, () => {}, 100);
    const results = await Promise.all([1, 2, 3].map((i) => new Promise<string>((resolve, reject) => queue.add(i, { resolve, reject }))));
    expect(results).toEqual(['ok1', 'ok2', 'ok3']);
    expect(groups).toEqual([[1, 2, 3]]);
  });

  it('fails a whole group together: waiters reject, fire-and-forget items are reported, flushNow returns the error', () => {
    const lost: number[][] = [];
    const queue = new GroupCommit<number, number>(() => { throw new Error('SQLITE_FULL: database or disk is full'); }, (_e, items) => lost.push(items), 100);
    const rejected: unknown[] = [];
    queue.add(1, { resolve: () => {}, reject: (e) => rejected.push(e) });
    queue.add(2);
    const errors = queue.flushNow();
    expect(errors).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(lost).toEqual([[2]]);
    expect(queue.size).toBe(0);
  });
});

describe('auditContent', () => {
  it('follows the policy: nothing, a digest, or the text up to max_chars', () => {
    expect(auditContent('secret prompt', { mode: 'none', maxChars: 10 })).toBeUndefined();
    expect(auditContent('prompt', { mode: 'digest', maxChars: 10 })).toEqual({ mode: 'digest', sha256: createHash('sha256').update('prompt').digest('hex') });
    expect(auditContent('héllo wörld', { mode: 'full', maxChars: 5 })).toEqual({ mode: 'full', text: 'héllo', truncated: true });
    const full = auditContent('short', { mode: 'full', maxChars: 100 });
    expect(full).toEqual({ mode: 'full', text: 'short', truncated: false });
    expect(AuditRecordSchema.shape.content.parse(full)).toEqual(full);
  });
});
