/**
 * A sync lock held is a wait, not a failure, and a stop gives the job back:
 * a worker's sync that finds a command-line run or verification holding the
 * sync lock waits for it (SYNC_LOCK_WAIT_SECONDS) and then runs, once; one
 * that waited in vain goes back to the queue a minute later with its
 * attempts whole, and the tick that did not run is a skipped (busy) run; a
 * SIGTERM mid-sync rolls the run back and puts the job back in the queue
 * without spending an attempt. Real `serve` processes, real PostgreSQL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { HEADER } from '../src/sample/generate.ts';
import {
  resetSyncState,
  slowWrites,
  spawnCli,
  useTestDatabase,
  waitFor,
  waitUntilWriting,
  type CliProcess,
} from './helpers.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-lockwait-'));
const db = useTestDatabase();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  await resetSyncState(db.pool);
  await db.pool.query(
    `delete from graphile_worker._private_jobs; delete from graphile_worker._private_job_queues; delete from buyer_sync_private.workers`,
  );
});

let n = 0;
function sheet(rows: number): string {
  const f = path.join(dir, `sheet-${n++}.csv`);
  const pad = ','.repeat(HEADER.length - 2);
  writeFileSync(
    f,
    [
      HEADER.join(','),
      ...Array.from({ length: rows }, (_, i) => `L${String(i).padStart(5, '0')},name ${i}${pad}`),
    ].join('\n'),
  );
  return f;
}
const { query } = db;
const serveEnv = (source: string, extra: Record<string, string> = {}) => ({
  DATABASE_URL: db.url,
  SHEET_SOURCE: source,
  SYNC_CRON: '0 0 1 1 *',
  SHEET_ENCODING: undefined,
  ALERT_WEBHOOK_URL: undefined,
  ...extra,
});
const SYNC_LOCK = 7340001;

/** A session holding the sync lock, as a long command-line sync or `verify --sample all` does. */
async function holdSyncLock(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query('select pg_advisory_lock($1)', [SYNC_LOCK]);
  return c;
}

async function stop(p: CliProcess) {
  p.child.kill('SIGTERM');
  return p.done;
}

/** Until the serve process has a worker registered (it takes jobs). */
const workerUp = () =>
  waitFor('the worker up', async () => (await query('select 1 from buyer_sync_private.workers')).length > 0, 30_000);

/** serve's own first sync (an empty database) done, and forgotten: the test's syncs start from nothing. */
async function settled(): Promise<void> {
  await workerUp();
  await waitFor(
    'the first sync done',
    async () => (await query(`select 1 from graphile_worker.jobs where task_identifier = 'buyers__sync'`)).length === 0,
    30_000,
  );
  await resetSyncState(db.pool);
}

describe('the sync lock held by someone else', () => {
  it('a requested sync waits for the lock and runs right after it is released, once, spending no attempt', async () => {
    const serve = spawnCli(['serve'], serveEnv(sheet(50)));
    try {
      await settled();
      const holder = await holdSyncLock();
      await db.pool.query('select buyer_sync.request_sync()');
      await waitFor(
        'the sync waiting for the lock',
        async () => /waiting up to 60 s for the sync lock/.test(serve.output().stdout + serve.output().stderr),
        30_000,
      );
      expect(await query(`select 1 from sync_runs`)).toHaveLength(0);
      await holder.end(); // the command-line run is over
      await waitFor(
        'the sync done',
        async () => (await query(`select 1 from sync_runs where status = 'succeeded'`)).length === 1,
        30_000,
      );
      await waitFor(
        'the job gone',
        async () =>
          (await query(`select 1 from graphile_worker.jobs where task_identifier = 'buyers__sync'`)).length === 0,
        30_000,
      );
      const runs = await query<{ status: string; inserted: number }>(`select status, inserted from sync_runs`);
      expect(runs).toEqual([{ status: 'succeeded', inserted: 50 }]);
    } finally {
      expect((await stop(serve)).code).toBe(0);
    }
  });

  it('a sync that waited in vain is recorded as a skipped (busy) run and goes back to the queue a minute later with its attempts whole', async () => {
    const serve = spawnCli(['serve'], serveEnv(sheet(20), { SYNC_LOCK_WAIT_SECONDS: '1' }));
    await settled();
    const holder = await holdSyncLock();
    try {
      const [{ id }] = (await query<{ id: string }>('select buyer_sync.request_sync() as id')) as [{ id: string }];
      await waitFor(
        'the tick recorded as busy',
        async () =>
          (await query(`select 1 from sync_runs where status = 'skipped' and skipped_kind = 'busy'`)).length === 1,
        30_000,
      );
      const job = await waitFor('the job back in the queue', async () => {
        const rows = await query<{
          id: string;
          attempts: number;
          last_error: string | null;
          in_a_minute: boolean;
          key: string | null;
        }>(
          `select id, attempts, last_error, run_at > now() + interval '40 seconds' as in_a_minute, key
             from graphile_worker.jobs where task_identifier = 'buyers__sync' and locked_at is null`,
        );
        return rows.length === 1 && rows[0]!.id !== id ? rows[0] : null;
      });
      expect(job).toMatchObject({ attempts: 0, last_error: null, in_a_minute: true, key: 'buyers__sync' });
      await waitFor('the line saying so', async () => /sync not run:/.test(serve.output().stdout), 10_000);
      expect(serve.output().stdout).toMatch(
        /sync not run: another sync run is in progress \(another sync run or a verification held the sync lock\); this run read and wrote nothing \(recorded as skipped run [0-9a-f-]{36}\); queued again for /,
      );
      // No failed job: the original one ended normally.
      expect(await query(`select 1 from graphile_worker.jobs where last_error is not null`)).toHaveLength(0);
      // A request made meanwhile coalesces into the re-queued job.
      await db.pool.query('select buyer_sync.request_sync()');
      expect(await query(`select 1 from graphile_worker.jobs where task_identifier = 'buyers__sync'`)).toHaveLength(1);
    } finally {
      await holder.end();
      expect((await stop(serve)).code).toBe(0);
    }
  });
});

describe('a stop mid-sync', () => {
  it('SIGTERM rolls the run back and gives the job back to the queue without spending an attempt; the next serve runs it', async () => {
    const undoSlowWrites = await slowWrites(db.pool, 0.02);
    try {
      const source = sheet(2000);
      const first = spawnCli(['serve'], serveEnv(source, { SYNC_BATCH_SIZE: '20' }));
      await workerUp().catch((e: unknown) => {
        throw new Error(`${(e as Error).message}: ${JSON.stringify(first.output())}`);
      });
      await db.pool.query('select buyer_sync.request_sync()');
      // (serve's own first sync on this empty database, or the request: they are one job.)
      await waitUntilWriting(db.pool);
      const r = await stop(first);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('stopped: the run was rolled back; the job goes back to the queue');
      const runs = await query<{ status: string; failure: string | null }>(`select status, failure from sync_runs`);
      expect(runs).toEqual([{ status: 'failed', failure: 'cancelled' }]);
      const jobs = await query<{ attempts: number; last_error: string | null; locked_at: Date | null }>(
        `select attempts, last_error, locked_at from graphile_worker.jobs where task_identifier = 'buyers__sync'`,
      );
      expect(jobs).toEqual([{ attempts: 0, last_error: null, locked_at: null }]);
    } finally {
      await undoSlowWrites();
    }
    const second = spawnCli(['serve'], serveEnv(sheet(10)));
    try {
      await waitFor(
        'the job run by the next serve',
        async () => (await query(`select 1 from sync_runs where status = 'succeeded'`)).length === 1,
        60_000,
      );
    } finally {
      expect((await stop(second)).code).toBe(0);
    }
  });
});
