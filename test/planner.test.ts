/**
 * The batch planner on its own, without a database: what a batch of sheet
 * rows asks of PostgreSQL (inserts, updates, failures, retry entries, closed
 * entries), given what the database held when the run started.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { loadMapping, resolveHeader } from '../src/mapping/mapping.ts';
import { HEADER } from '../src/sample/generate.ts';
import { KeyIndex } from '../src/sync/key-index.ts';
import { BatchPlanner } from '../src/sync/planner.ts';
import { parseRow, rowRules } from '../src/sync/rows.ts';
import { emptyRunCounts, type SyncMode } from '../src/sync/types.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const rules = rowRules(resolveHeader(mapping, HEADER), { encoding: null, dateSerials: true }, 200);
const row = (key: string, over: Record<number, string> = {}) => HEADER.map((_, i) => (i === 0 ? key : (over[i] ?? '')));
const counts = emptyRunCounts;

/** A planner over a database holding `stored` buyers (key -> sheet row whose content they hold) and open retry entries. */
function planner(opts: { stored?: Record<string, string[]>; open?: string[]; mode?: SyncMode; keys?: string[] } = {}) {
  const index = new KeyIndex();
  for (const [key, cells] of Object.entries(opts.stored ?? {})) {
    const r = parseRow(2, cells, rules);
    if (r.kind !== 'valid') throw new Error('stored rows must be valid');
    index.setStored(key, r.row.hash);
  }
  const c = counts();
  const p = new BatchPlanner({
    mode: opts.mode ?? 'full',
    rules,
    keyColumn: 'buyer_number',
    runId: 'run-1',
    source: 'sheet.csv',
    index,
    openRetries: new Map((opts.open ?? []).map((k) => [k, 'sheet.csv'])),
    keys: opts.keys ?? null,
    counts: c,
  });
  const plan = (rows: string[][], first = 2) => p.plan(rows.map((cells, i) => ({ rowNumber: first + i, cells })));
  return { p, plan, counts: c };
}

describe('the batch planner', () => {
  it('new buyers are inserts, changed ones updates, unchanged ones nothing; blank rows are counted', () => {
    const { plan, counts } = planner({ stored: { A: row('A', { 1: 'same' }), B: row('B', { 1: 'old' }) } });
    const { write } = plan([row('A', { 1: 'same' }), row('B', { 1: 'new' }), row('C'), row('')]);
    expect(write.inserts.map((r) => r.key)).toEqual(['C']);
    expect(write.updates.map((r) => r.key)).toEqual(['B']);
    expect(counts).toMatchObject({ totalRows: 4, blankRows: 1, unchanged: 1, batches: 1 });
  });

  it('a retryable failure is logged and queued once; one without a buyer number, or a duplicate, is logged only', () => {
    const { plan, counts } = planner();
    const { write } = plan([
      row('A', { 5: 'someday' }),
      row('A', { 9: 'abc' }),
      row('', { 1: 'x' }),
      row('B'),
      row('B', { 1: 'again' }),
    ]);
    expect(write.errors.map((e) => [e.rowNumber, e.errorType, e.retryable])).toEqual([
      [2, 'data_type', true],
      [3, 'data_type', true],
      [4, 'constraint_violation', false],
      [6, 'constraint_violation', false],
    ]);
    expect(write.retries).toEqual([
      {
        buyerNumber: 'A',
        rowNumber: 2,
        source: 'sheet.csv',
        rowHash: expect.stringMatching(/^[0-9a-f]{32}$/),
        info: expect.objectContaining({ error_type: 'data_type', run_id: 'run-1', source: 'sheet.csv' }),
      },
    ]);
    expect(counts.errorsByType).toMatchObject({ data_type: 2, constraint_violation: 2 });
  });

  it('a buyer with an open entry that syncs resolves it; one that fails only for good is listed to close; one gone from the sheet, as left', () => {
    const { p, plan } = planner({ open: ['OK', 'DUP', 'GONE'] });
    const { write } = plan([row('OK'), row('ＤＵＰ'), row('DUP')]);
    expect(write.resolved).toEqual(['OK']);
    const done = p.finish();
    expect(done.notRetryable).toEqual(['DUP']);
    expect(done.leftSheet).toEqual(['GONE']);
  });

  it('rows that failed before a later row synced their buyer number become duplicates, and their entry goes', () => {
    const { p, plan, counts } = planner();
    const first = plan([row('K', { 5: 'someday' })]);
    expect(first.write.retries).toHaveLength(1);
    plan([row('K')], 3);
    const done = p.finish();
    expect(done.earlierDuplicates).toEqual([{ key: 'K', rows: [2], syncedRow: 3 }]);
    expect(done.lateDiscarded).toEqual(['K']);
    expect(counts.errorsByType).toMatchObject({ data_type: 0, constraint_violation: 1 });
  });

  it('--only plans the listed buyers, judges their lookalikes as a full run does, and names those not on the sheet', () => {
    const { p, plan, counts } = planner({ mode: 'only', keys: ['１２３', 'X', 'NOPE'] });
    const { write } = plan([row('123'), row('１２３'), row('X'), row('Y')]);
    expect(write.inserts.map((r) => r.key)).toEqual(['X']);
    expect(write.errors.map((e) => [e.buyerNumber, e.errorType])).toEqual([['１２３', 'constraint_violation']]);
    expect(counts.totalRows).toBe(2);
    expect(p.finish().notOnSheet).toEqual(['NOPE']);
  });

  it('remembers every buyer number on the sheet, at its first row, for the snapshot', () => {
    const { p, plan } = planner();
    plan([row('A'), row('B', { 5: 'bad' }), row('A'), row(''), row('C')]);
    expect(p.sheet.keys).toEqual(['A', 'B', 'C']);
    expect(p.sheet.rows).toEqual([2, 3, 6]);
  });
});
