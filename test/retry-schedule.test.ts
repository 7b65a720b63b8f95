/**
 * The retry schedule is a schedule (issue 16, item 3; migration 064), over a
 * simulated clock: every connection the test's pool hands out first sets
 * buyer_sync.fake_now, which buyer_sync_private.now() reads. Time moves by
 * changing a number, never by sleeping.
 *
 * A failure counts as an attempt only when it is the first or its retry was
 * due, whichever path made it (full sync, retry round, --only); attempts come
 * 1, 5 and 15 minutes apart at least, and the 4th fails the buyer for good.
 * An exhausted buyer whose row fails unchanged gets no new entry and no new
 * alert; a changed row starts a fresh schedule, and so does an operator's
 * retry (buyer_sync.retry_buyer_now).
 */
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { HEADER } from '../src/sample/generate.ts';
import { ArraySheetSource } from '../src/sheet/array-source.ts';
import { syncBuyers } from '../src/sync/engine.ts';
import { failingRowHash } from '../src/sync/planner.ts';
import { processRetryQueue } from '../src/sync/retry-round.ts';
import { migrationSections, resetSyncState, useTestDatabase } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const MINUTE = 60_000;
const START = Date.parse('2030-06-01T11:42:00.000Z');
/** The simulated clock, in ms since the epoch. */
let clock = START;
const at = (minutes: number) => START + minutes * MINUTE;

const db = useTestDatabase();
beforeAll(() => {
  // Every client the pool hands out (a run's, a retry round's, the test's) reads the simulated clock:
  // the query is queued on the client before anything its taker sends.
  db.pool.on('acquire', (client: pg.PoolClient) => {
    client
      .query(`select set_config('buyer_sync.fake_now', $1, false)`, [new Date(clock).toISOString()])
      .catch(() => undefined);
  });
});
beforeEach(async () => {
  clock = START;
  await resetSyncState(db.pool);
});

/** A row that fails as data_type (an inquiry date that is no date); `variant` changes its content, still failing. */
const bad = (key: string, variant = 0) =>
  HEADER.map((_, i) => (i === 0 ? key : i === 5 ? `someday ${variant}` : i === 1 ? `name ${key}` : ''));
const good = (key: string) => HEADER.map((_, i) => (i === 0 ? key : i === 1 ? `name ${key}` : ''));
const sheetOf = (rows: string[][]) => new ArraySheetSource(HEADER, rows, 'sheet');

const fullSync = (rows: string[][]) => syncBuyers(db.pool, { mode: 'full', source: sheetOf(rows), mapping });
const onlySync = (rows: string[][], keys: string[]) =>
  syncBuyers(db.pool, { mode: 'only', source: sheetOf(rows), mapping, keys });
const retryRound = (rows: string[][]) =>
  processRetryQueue(db.pool, { mapping, limit: 100, sourceFor: () => sheetOf(rows) });

interface Entry {
  buyer_number: string;
  status: string;
  resolution: string | null;
  attempt_count: number;
  last_attempt_at: Date | null;
  next_retry_at: Date;
  released_at: Date | null;
  row_hash: string | null;
}
const entriesOf = async (buyer: string) =>
  (
    await db.pool.query<Entry>(
      `select buyer_number, status, resolution, attempt_count, last_attempt_at, next_retry_at, released_at, row_hash
         from retry_queue where buyer_number = $1 order by created_at, id`,
      [buyer],
    )
  ).rows;
const permanentAlerts = async () =>
  // One alert per run names every buyer it failed for good (details.buyer_numbers): a row per buyer named.
  (
    await db.pool.query<{ buyer: string }>(
      `select b.buyer from sync_alerts a
        cross join lateral jsonb_array_elements_text(coalesce(a.details->'buyer_numbers', jsonb_build_array(a.details->>'buyer_number'))) as b(buyer)
        where a.type = 'permanent_failure' and a.resolves is null order by a.created_at, b.buyer`,
    )
  ).rows;
const errorLog = async (buyer: string) =>
  (
    await db.pool.query<{ retryable: boolean }>(
      `select retryable from sync_error_log where buyer_number = $1 order by created_at, id`,
      [buyer],
    )
  ).rows;

describe('the clock', () => {
  it("buyer_sync_private.now() is the statement time, or the session's buyer_sync.fake_now", async () => {
    const c = await db.pool.connect();
    try {
      await c.query(`select set_config('buyer_sync.fake_now', '', false)`);
      const { rows } = await c.query(`select buyer_sync_private.now() = statement_timestamp() as same`);
      expect(rows).toEqual([{ same: true }]);
      await c.query(`select set_config('buyer_sync.fake_now', '2031-02-03T04:05:06.789Z', false)`);
      expect((await c.query(`select buyer_sync_private.now() as t`)).rows[0].t).toEqual(
        new Date('2031-02-03T04:05:06.789Z'),
      );
    } finally {
      c.release();
    }
  });
});

describe('what counts as an attempt', () => {
  it('issue 16: B0000103 fails at 11:42 (sync), 11:44 (round), 11:45 and 11:48 (syncs between retries): still attempt 2, due 11:49; permanent only at the 4th counted attempt', async () => {
    const rows = [bad('B0000103'), good('OK')];
    await fullSync(rows); // 11:42: attempt 1
    clock = at(2);
    await retryRound(rows); // 11:44: due since 11:43, attempt 2
    expect(await entriesOf('B0000103')).toMatchObject([
      { status: 'pending', attempt_count: 2, last_attempt_at: new Date(at(2)), next_retry_at: new Date(at(7)) },
    ]);
    for (const m of [3, 6]) {
      clock = at(m);
      await fullSync(rows); // not due: logged, not counted
      expect(await entriesOf('B0000103')).toMatchObject([
        { status: 'pending', attempt_count: 2, next_retry_at: new Date(at(7)) },
      ]);
    }
    expect((await errorLog('B0000103')).map((e) => e.retryable)).toEqual([true, true, true, true]);
    clock = at(7);
    await fullSync(rows); // 11:49, exactly due: attempt 3, next 15 minutes later
    expect(await entriesOf('B0000103')).toMatchObject([{ attempt_count: 3, next_retry_at: new Date(at(22)) }]);
    clock = at(22) - 1;
    await retryRound(rows); // a millisecond early: nothing is due
    await fullSync(rows);
    expect(await entriesOf('B0000103')).toMatchObject([{ status: 'pending', attempt_count: 3 }]);
    expect(await permanentAlerts()).toEqual([]);
    clock = at(22);
    await retryRound(rows);
    expect(await entriesOf('B0000103')).toMatchObject([
      { status: 'failed', resolution: 'exhausted', attempt_count: 4, released_at: null },
    ]);
    expect(await permanentAlerts()).toEqual([{ buyer: 'B0000103' }]);
  });

  it('three "Sync now" within 3 minutes fail nobody for good', async () => {
    const rows = [...Array.from({ length: 30 }, (_, i) => bad(`X${i}`)), good('OK')];
    for (const m of [0, 1.5, 3]) {
      clock = at(m);
      await fullSync(rows);
    }
    const { rows: q } = await db.pool.query(
      `select status, attempt_count, count(*)::int as n from retry_queue group by 1, 2`,
    );
    expect(q).toEqual([{ status: 'pending', attempt_count: 2, n: 30 }]);
    expect(await permanentAlerts()).toEqual([]);
  });

  it('an exhausted buyer stays one entry while its row fails unchanged: no new cycle, no new alert; the error is still logged, as not queued', async () => {
    const rows = [bad('E')];
    for (const m of [0, 1, 6, 21]) {
      clock = at(m);
      await fullSync(rows);
    }
    expect(await entriesOf('E')).toMatchObject([{ status: 'failed', resolution: 'exhausted', attempt_count: 4 }]);
    for (const m of [22, 30, 60, 200]) {
      clock = at(m);
      await fullSync(rows);
      await retryRound(rows);
      await onlySync(rows, ['E']);
    }
    expect(await entriesOf('E')).toHaveLength(1);
    expect(await permanentAlerts()).toHaveLength(1);
    const log = (await errorLog('E')).map((e) => e.retryable);
    expect(log).toEqual([true, true, true, true, ...Array(8).fill(false)]);

    // The row changes (still failing): a fresh schedule, attempt 1; the exhausted entry lets go of the buyer.
    clock = at(300);
    await fullSync([bad('E', 1)]);
    const [old, fresh] = await entriesOf('E');
    expect(old).toMatchObject({ status: 'failed', released_at: new Date(at(300)) });
    expect(fresh).toMatchObject({
      status: 'pending',
      attempt_count: 1,
      last_attempt_at: new Date(at(300)),
      next_retry_at: new Date(at(301)),
    });
    expect(fresh!.row_hash).toBe(failingRowHash({ cells: bad('E', 1) }));
  });

  it('a changed row starts a fresh schedule on an open entry too', async () => {
    await fullSync([bad('C')]);
    clock = at(1);
    await fullSync([bad('C')]);
    clock = at(2);
    await fullSync([bad('C', 7)]); // not due, but another row: attempt 1 of a new schedule
    expect(await entriesOf('C')).toMatchObject([
      { status: 'pending', attempt_count: 1, last_attempt_at: new Date(at(2)), next_retry_at: new Date(at(3)) },
    ]);
  });

  it('an operator retry (buyer_sync.retry_buyer_now) starts a fresh schedule for a buyer that failed for good, and makes a waiting one due', async () => {
    const rows = [bad('P'), bad('W')];
    for (const m of [0, 1, 6, 21]) {
      clock = at(m);
      await onlySync(rows, ['P']);
    }
    expect(await entriesOf('P')).toMatchObject([{ status: 'failed', resolution: 'exhausted' }]);
    clock = at(30);
    await fullSync(rows); // W: attempt 1, due at 31; P: held
    expect(await entriesOf('P')).toHaveLength(1);

    await db.pool.query(`select buyer_sync.retry_buyer_now('P'), buyer_sync.retry_buyer_now('W')`);
    expect(await entriesOf('P')).toMatchObject([{ released_at: new Date(at(30)) }]);
    expect(await entriesOf('W')).toMatchObject([{ attempt_count: 1, next_retry_at: new Date(at(30)) }]);
    await retryRound(rows); // W, made due: attempt 2
    expect(await entriesOf('W')).toMatchObject([{ attempt_count: 2, next_retry_at: new Date(at(35)) }]);
    await onlySync(rows, ['P']); // the job retry_buyer_now asked for: the same row, a fresh schedule
    expect(await entriesOf('P')).toMatchObject([
      { status: 'failed' },
      { status: 'pending', attempt_count: 1, next_retry_at: new Date(at(31)) },
    ]);
  });

  it('a buyer that failed for good and then syncs lets go of its entry', async () => {
    for (const m of [0, 1, 6, 21]) {
      clock = at(m);
      await fullSync([bad('S')]);
    }
    clock = at(40);
    await fullSync([good('S')]);
    expect(await entriesOf('S')).toMatchObject([{ status: 'failed', released_at: new Date(at(40)) }]);
  });

  it('an exhausted entry from before row hashes holds its buyer and records the row that fails next', async () => {
    await db.pool.query(
      `insert into retry_queue (buyer_number, error_info, attempt_count, next_retry_at, status, resolution, resolved_at)
       values ('L', '{}', 4, now(), 'failed', 'exhausted', now())`,
    );
    await fullSync([bad('L')]);
    const [e, ...more] = await entriesOf('L');
    expect(more).toEqual([]);
    expect(e).toMatchObject({ status: 'failed', released_at: null, row_hash: failingRowHash({ cells: bad('L') }) });
    expect(await errorLog('L')).toEqual([{ retryable: false }]);
  });

  it('migration 064 goes down and up again', async () => {
    const { up, down } = migrationSections(path.join(projectRoot, 'db', 'migrations', '064_retry_schedule.sql'));
    // The migrations after it go down first (their objects may depend on its columns), and up again after.
    const later = readdirSync(path.join(projectRoot, 'db', 'migrations'))
      .filter((f) => f.endsWith('.sql') && f > '064_retry_schedule.sql')
      .sort();
    const c = await db.pool.connect();
    try {
      await c.query('begin');
      for (const f of [...later].reverse()) await c.query(migrationSections(f).down);
      await c.query(down);
      expect(
        (
          await c.query(
            `select count(*)::int as n from information_schema.columns where table_name = 'retry_queue' and column_name in ('row_hash', 'released_at', 'last_attempt_at')`,
          )
        ).rows,
      ).toEqual([{ n: 0 }]);
      await c.query(up);
      expect(
        (
          await c.query(
            `select count(*)::int as n from information_schema.columns where table_name = 'retry_queue' and column_name in ('row_hash', 'released_at', 'last_attempt_at')`,
          )
        ).rows,
      ).toEqual([{ n: 3 }]);
      for (const f of later) await c.query(migrationSections(f).up);
    } finally {
      await c.query('rollback');
      c.release();
    }
  });
});

/* ------------------------------------------------------------------ the model */

const DELAYS = [1, 5, 15].map((m) => m * MINUTE);

type Op =
  | { kind: 'wait'; ms: number }
  | { kind: 'untilDue' }
  | { kind: 'full' }
  | { kind: 'round' }
  | { kind: 'only'; keys: string[] }
  | { kind: 'change'; buyer: string };

const BUYERS = ['M', 'N'];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 20 * 60 }).map((s) => ({ kind: 'wait' as const, ms: s * 1000 })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'untilDue' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'full' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'round' as const }) },
  { weight: 2, arbitrary: fc.subarray(BUYERS, { minLength: 1 }).map((keys) => ({ kind: 'only' as const, keys })) },
  { weight: 1, arbitrary: fc.constantFrom(...BUYERS).map((buyer) => ({ kind: 'change' as const, buyer })) },
);

/** What the schedule says happens to one buyer whose row always fails. */
interface Model {
  variant: number;
  state:
    | { kind: 'none' }
    | { kind: 'pending'; attempt: number; last: number; variant: number; attempts: number[] }
    | { kind: 'exhausted'; variant: number };
  entries: number;
  exhaustions: number;
  reads: number;
  queuedReads: number;
  /** Every completed schedule's attempt times. */
  schedules: number[][];
}

function failedAt(m: Model, now: number): void {
  m.reads++;
  const s = m.state;
  if (s.kind === 'exhausted' && s.variant === m.variant) return;
  m.queuedReads++;
  if (s.kind === 'none' || s.kind === 'exhausted' || s.variant !== m.variant) {
    if (s.kind !== 'pending') m.entries++;
    m.state = { kind: 'pending', attempt: 1, last: now, variant: m.variant, attempts: [now] };
    return;
  }
  if (now < s.last + DELAYS[s.attempt - 1]!) return; // not due: logged only
  s.attempts.push(now);
  if (s.attempt + 1 === 4) {
    m.exhaustions++;
    m.schedules.push(s.attempts);
    m.state = { kind: 'exhausted', variant: s.variant };
  } else {
    s.attempt++;
    s.last = now;
  }
}

const dueAt = (m: Model) => (m.state.kind === 'pending' ? m.state.last + DELAYS[m.state.attempt - 1]! : null);

describe('the schedule over any interleaving (simulated clock)', () => {
  it('attempts come at 0, ≥1, ≥5, ≥15 minutes after the one before, the 4th fails the buyer for good; syncs between retries count nothing; a changed row starts afresh', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 18 }), async (ops) => {
        await resetSyncState(db.pool);
        clock = START;
        const models = new Map<string, Model>(
          BUYERS.map((b) => [
            b,
            {
              variant: 0,
              state: { kind: 'none' },
              entries: 0,
              exhaustions: 0,
              reads: 0,
              queuedReads: 0,
              schedules: [],
            },
          ]),
        );
        const rows = () => [...BUYERS.map((b) => bad(b, models.get(b)!.variant)), good('OK')];
        for (const op of ops) {
          if (op.kind === 'wait') clock += op.ms;
          else if (op.kind === 'untilDue') {
            const next = BUYERS.map((b) => dueAt(models.get(b)!)).filter((t): t is number => t !== null && t > clock);
            if (next.length > 0) clock = Math.min(...next);
          } else if (op.kind === 'change') models.get(op.buyer)!.variant++;
          else if (op.kind === 'full') {
            await fullSync(rows());
            for (const b of BUYERS) failedAt(models.get(b)!, clock);
          } else if (op.kind === 'only') {
            await onlySync(rows(), op.keys);
            for (const b of op.keys) failedAt(models.get(b)!, clock);
          } else {
            const due = BUYERS.filter((b) => {
              const t = dueAt(models.get(b)!);
              return t !== null && t <= clock;
            });
            const r = await retryRound(rows());
            expect(r.processed).toBe(due.length);
            for (const b of due) failedAt(models.get(b)!, clock);
          }
          for (const b of BUYERS) {
            const m = models.get(b)!;
            const entries = await entriesOf(b);
            expect(entries).toHaveLength(m.entries);
            const latest = entries.at(-1);
            // Only the latest entry may be open or hold the buyer.
            for (const e of entries.slice(0, -1))
              expect(e).toMatchObject({ status: 'failed', resolution: 'exhausted', released_at: expect.any(Date) });
            if (m.state.kind === 'none') expect(latest).toBeUndefined();
            else if (m.state.kind === 'pending') {
              expect(latest).toMatchObject({
                status: 'pending',
                attempt_count: m.state.attempt,
                last_attempt_at: new Date(m.state.last),
                next_retry_at: new Date(m.state.last + DELAYS[m.state.attempt - 1]!),
              });
              expect(latest!.row_hash).toBe(failingRowHash({ cells: bad(b, m.state.variant) }));
            } else {
              expect(latest).toMatchObject({
                status: 'failed',
                resolution: 'exhausted',
                attempt_count: 4,
                released_at: null,
              });
              expect(latest!.row_hash).toBe(failingRowHash({ cells: bad(b, m.state.variant) }));
            }
            const log = await errorLog(b);
            expect(log).toHaveLength(m.reads);
            expect(log.filter((e) => e.retryable)).toHaveLength(m.queuedReads);
            // The contract, in times: each attempt at least 1, 5, 15 minutes after the one before; permanent at the 4th.
            for (const s of m.schedules) {
              expect(s).toHaveLength(4);
              for (let i = 1; i < 4; i++) expect(s[i]! - s[i - 1]!).toBeGreaterThanOrEqual(DELAYS[i - 1]!);
              expect(s[3]! - s[0]!).toBeGreaterThanOrEqual(21 * MINUTE);
            }
          }
          // One alert per buyer that failed for good (it stays open: the row still fails).
          const alerted = new Set((await permanentAlerts()).map((a) => a.buyer));
          expect(alerted).toEqual(new Set(BUYERS.filter((b) => models.get(b)!.exhaustions > 0)));
        }
      }),
      { numRuns: 40 },
    );
  }, 600_000);
});
