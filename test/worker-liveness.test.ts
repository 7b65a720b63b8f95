/**
 * Worker liveness that survives connection blips (migration 063,
 * src/worker/liveness.ts): a live process is never declared dead, its jobs
 * never unlocked under it, whatever happens to its connections; a killed one
 * still is, within the dead-after bound. Against a real PostgreSQL and real
 * `serve` processes; the bounds are set short in SQL (worker_liveness) so
 * the test takes seconds, not minutes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HEADER } from '../src/sample/generate.ts';
import { recoverDeadWorkers, WorkerLiveness } from '../src/worker/liveness.ts';
import { cronPeriodMs, workerLogger } from '../src/worker/runtime.ts';
import { CONNECTION_LOST_CODES, retryLostConnections } from '../src/worker/retryable.ts';
import {
  slowWrites,
  spawnCli,
  useTestDatabase,
  waitFor,
  waitUntilBlockedBy,
  waitUntilWriting,
  type CliProcess,
} from './helpers.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-liveness-'));
const db = useTestDatabase();
/** The test's own connections, named so that terminating the service's ('buyer-sync…') leaves them alone. */
let pool: pg.Pool;
beforeAll(() => {
  pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'liveness test' });
  pool.on('error', () => undefined);
});
afterAll(async () => {
  await pool?.end();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await pool.query(`delete from graphile_worker._private_jobs; delete from graphile_worker._private_job_queues; delete from buyer_sync_private.workers;
    update buyer_sync_private.worker_liveness set heartbeat_every = '300 ms', dead_after = '3 s'`);
});

const query = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) =>
  (await pool.query<T>(sql, values)).rows;
/** Terminates every connection of the service under test (the test's own pool is left alone). */
const blip = async () =>
  (
    await query<{ n: number }>(`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
     where datname = current_database() and application_name like 'buyer-sync%'`)
  )[0]!.n;
/** Backends holding the liveness lock of a worker. */
const livenessLocks = async (workerId: string) =>
  (
    await query<{ n: number }>(
      `select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = 7340002 and objid = hashtext($1)::oid and objsubid = 2 and granted`,
      [workerId],
    )
  )[0]!.n;

/** Writes the sheet's generation `gen`: every row's name changes, so each sync has every row to write. */
function sheet(file: string, rows: number, gen: number): string {
  const pad = ','.repeat(HEADER.length - 2);
  writeFileSync(
    file,
    [
      HEADER.join(','),
      ...Array.from({ length: rows }, (_, i) => `L${String(i).padStart(5, '0')},name ${i} v${gen}${pad}`),
    ].join('\n'),
  );
  return file;
}

describe('the liveness connection', () => {
  it('reconnects after it is terminated, takes its lock again, and re-registers a worker whose row was removed; never listed dead meanwhile', async () => {
    const lines: string[] = [];
    const lost: string[] = [];
    const liveness = new WorkerLiveness(db.url, { lost: (code) => lost.push(code), log: (l) => lines.push(l) });
    await liveness.start();
    try {
      await liveness.register('test-worker-a');
      expect(await livenessLocks('test-worker-a')).toBe(1);
      expect(liveness.heartbeatIntervalMs).toBe(300);
      for (let i = 0; i < 3; i++) {
        // With a timeout, pg_terminate_backend returns once the backend is gone (its locks with it): without one, the
        // loop could find the old lock still held, and end before the process had noticed any blip.
        await query(
          `select pg_terminate_backend(pid, 10000) from pg_stat_activity where application_name = 'buyer-sync worker liveness' and datname = current_database()`,
        );
        expect(await query('select 1 from buyer_sync.dead_workers')).toEqual([]);
        expect(await recoverDeadWorkers(pool)).toEqual([]);
        await waitFor('the lock taken again', async () => (await livenessLocks('test-worker-a')) === 1, 10_000);
      }
      // Each blip reported, unless it came before the previous reconnect finished (then it is the same outage).
      expect(lost.length).toBeGreaterThanOrEqual(1);
      expect(new Set(lost)).toEqual(new Set(['57P01']));
      // The registration removed under it (as 0.9.1's recovery did): it comes back at the next heartbeat.
      await query(`delete from buyer_sync_private.workers where worker_id = 'test-worker-a'`);
      await waitFor(
        'registered again',
        async () =>
          (await query(`select 1 from buyer_sync_private.workers where worker_id = 'test-worker-a'`)).length === 1,
        5_000,
      );
      expect(lines).toContain('worker test-worker-a registered again (its registration had been removed while it ran)');
      // The heartbeat moves.
      const [a] = await query<{ t: Date }>(`select last_seen_at as t from buyer_sync_private.workers`);
      await waitFor(
        'a heartbeat',
        async () => (await query<{ t: Date }>(`select last_seen_at as t from buyer_sync_private.workers`))[0]!.t > a!.t,
        5_000,
      );
    } finally {
      await liveness.close();
    }
    expect(await query('select 1 from buyer_sync_private.workers')).toEqual([]);
    expect(await livenessLocks('test-worker-a')).toBe(0);
  });

  it('dead means both: no lock AND a heartbeat older than dead_after; recovery re-checks the rule on the row it deletes', async () => {
    await query(
      `insert into buyer_sync_private.workers (worker_id, host, pid) values ('fresh', 'h', 1), ('stale', 'h', 2), ('locked', 'h', 3)`,
    );
    await query(
      `update buyer_sync_private.workers set last_seen_at = now() - interval '10 seconds' where worker_id in ('stale', 'locked')`,
    );
    const holder = await pool.connect();
    try {
      await holder.query(`select pg_advisory_lock(7340002, hashtext('locked'))`);
      expect(
        (await query<{ worker_id: string }>('select worker_id from buyer_sync.dead_workers')).map((r) => r.worker_id),
      ).toEqual(['stale']);
      // A heartbeat committed while a recovery waits on the row keeps the worker.
      const beat = await pool.connect();
      try {
        const [beating] = (await beat.query<{ pid: number }>('select pg_backend_pid() as pid')).rows;
        await beat.query('begin');
        await beat.query(`update buyer_sync_private.workers set last_seen_at = now() where worker_id = 'stale'`);
        const recovering = recoverDeadWorkers(pool);
        await waitUntilBlockedBy(pool, beating!.pid, 10_000);
        await beat.query('commit');
        expect(await recovering).toEqual([]);
      } finally {
        beat.release();
      }
      await query(
        `update buyer_sync_private.workers set last_seen_at = now() - interval '10 seconds' where worker_id = 'stale'`,
      );
      expect(await recoverDeadWorkers(pool)).toEqual(['stale']);
      expect(
        (await query<{ worker_id: string }>('select worker_id from buyer_sync_private.workers order by 1')).map(
          (r) => r.worker_id,
        ),
      ).toEqual(['fresh', 'locked']);
    } finally {
      await holder.query(`select pg_advisory_unlock_all()`);
      holder.release();
    }
    // The bounds are SQL: a heartbeat interval must fit dead_after three times.
    await expect(
      query(`update buyer_sync_private.worker_liveness set heartbeat_every = '30 s', dead_after = '60 s'`),
    ).rejects.toMatchObject({ code: '23514' });
  });
});

describe('logs', () => {
  it("graphile-worker's connection chatter is one outage line; a failed job is one line; no error class names", () => {
    const lines: string[] = [];
    const lost: string[] = [];
    const logger = workerLogger((l) => lines.push(l), { lost: (c) => lost.push(c) });
    const terminated = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    logger.error(
      'Error with notify listener (trying again in 105ms): terminating connection due to administrator command',
      { error: terminated },
    );
    logger.error(
      'Error occurred attempting to UNLISTEN: Error: Client has encountered a connection error and is not queryable',
    );
    logger.error(
      `Failed task 5 (buyers__sync, 5354.52ms, attempt 1 of 3) with error 'sync run x stopped after 4155 rows and wrote nothing: the database connection was lost (57P01); run the sync again':\n    at foo (bar.ts:1:1)`,
      { error: terminated },
    );
    logger.info('Worker connected and looking for jobs...');
    expect(lost).toEqual(['57P01', 'connection closed']);
    expect(lines).toEqual([
      'job 5 (buyers__sync) failed, attempt 1 of 3 (it will be retried): sync run x stopped after 4155 rows and wrote nothing: the database connection was lost (57P01); run the sync again',
    ]);
  });
});

describe('a connection lost as a job ends', () => {
  it('is retried by graphile-worker on a fresh connection (its table of retryable codes gains the connection-loss codes), instead of an unhandled rejection ending the process', async () => {
    expect(await retryLostConnections()).toBeNull();
    const entry = createRequire(import.meta.url).resolve('graphile-worker');
    const lib = (await import(pathToFileURL(path.join(path.dirname(entry), 'lib.js')).href)) as {
      RETRYABLE_ERROR_CODES: Record<string, unknown>;
    };
    for (const code of Object.keys(CONNECTION_LOST_CODES)) expect(lib.RETRYABLE_ERROR_CODES[code]).toBeDefined();
    expect(lib.RETRYABLE_ERROR_CODES['40001']).toBeDefined(); // its own codes stay
  });
});

describe('cron period', () => {
  it('is the longest gap between fire times', () => {
    const from = new Date('2026-03-04T10:07:00Z');
    expect(cronPeriodMs('*/15 * * * *', from)).toBe(15 * 60_000);
    expect(cronPeriodMs('0 3 * * *', from)).toBe(24 * 3600_000);
    expect(cronPeriodMs('0 9 * * 1-5', from)).toBe(3 * 24 * 3600_000);
    expect(cronPeriodMs('0 0 1 1 *', from)).toBeGreaterThanOrEqual(365 * 24 * 3600_000);
  });
});

describe('serve through connection blips', () => {
  it('terminating every service connection 1-3 times (mid-sync and idle): syncs go on, no job runs twice at once, the live process is never dead; a later kill -9 is recovered', async () => {
    const undoSlowWrites = await slowWrites(pool, 0.004, 'insert or update');
    let gen = 0;
    const source = sheet(path.join(dir, 'blips.csv'), 800, gen++);
    /** A new version of the sheet, and a sync of it requested. */
    const requestSync = async () => {
      sheet(source, 800, gen++);
      await query('select buyer_sync.request_sync()');
    };
    // Every version of the sheet renames every buyer: the mass-change guard is not what is tested here.
    const env = {
      DATABASE_URL: db.url,
      SHEET_SOURCE: source,
      SYNC_CRON: '* * * * *',
      SYNC_BATCH_SIZE: '20',
      SYNC_MAX_CHANGED_PERCENT: '100',
      SHEET_ENCODING: undefined,
      ALERT_WEBHOOK_URL: undefined,
    };
    const serve = spawnCli(['serve'], env);
    let second: CliProcess | null = null;
    // Watches, all along, for the live process listed dead or its jobs unlocked under it.
    const seenDead: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const r of await query<{ worker_id: string }>('select worker_id from buyer_sync.dead_workers').catch(
          () => [],
        ))
          seenDead.push(r.worker_id);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      const [worker] = await waitFor('the worker registered', async () => {
        const rows = await query<{ worker_id: string; pid: number }>(
          'select worker_id, pid from buyer_sync_private.workers',
        );
        return rows.length === 1 ? rows : null;
      });
      const blips = 1 + Math.floor(Math.random() * 3);
      for (let i = 0; i < blips; i++) {
        const midSync = i % 2 === 0;
        if (midSync) {
          await waitFor(
            'idle',
            async () => (await query(`select 1 from sync_runs where status = 'running'`)).length === 0,
            60_000,
          );
          await requestSync();
          await waitUntilWriting(pool, 40_000);
        } else {
          await waitFor(
            'idle',
            async () => (await query(`select 1 from sync_runs where status = 'running'`)).length === 0,
            60_000,
          );
        }
        expect(await blip()).toBeGreaterThan(0);
        await waitFor(
          'the liveness lock held again',
          async () => (await livenessLocks(worker!.worker_id)) === 1,
          15_000,
        );
      }
      // Work goes on after the blips: a requested sync succeeds.
      await waitFor(
        'idle',
        async () => (await query(`select 1 from sync_runs where status = 'running'`)).length === 0,
        60_000,
      );
      const after = new Date();
      await requestSync();
      await waitFor(
        'a sync after the blips',
        async () =>
          (
            await query(`select 1 from sync_runs where status = 'succeeded' and mode = 'full' and started_at >= $1`, [
              after,
            ])
          ).length > 0,
        60_000,
      );
      expect(seenDead).toEqual([]);
      expect(await livenessLocks(worker!.worker_id)).toBe(1);
      const out = serve.output().stdout;
      expect(out).not.toMatch(/unlocked the jobs/);
      expect(out).toMatch(/the database connection was lost \(57P01\); reconnecting/);
      expect(out).not.toMatch(/AbortError|notify listener|UNLISTEN|Error:/);
      // No two runs ever overlapped (one queue, and nothing run twice at once).
      const runs = await query<{ started_at: Date; finished_at: Date | null }>(
        `select started_at, finished_at from sync_runs where status <> 'running' order by started_at`,
      );
      for (let i = 1; i < runs.length; i++)
        expect(runs[i]!.started_at.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.finished_at!.getTime());

      // Now a real death, mid-job, after the blips.
      watching = false;
      await watcher;
      await waitFor(
        'idle',
        async () => (await query(`select 1 from sync_runs where status = 'running'`)).length === 0,
        60_000,
      );
      await requestSync();
      await waitUntilWriting(pool, 60_000);
      serve.child.kill('SIGKILL');
      await serve.done;
      const locked = await query<{ id: string }>(`select id from graphile_worker.jobs where locked_by = $1`, [
        worker!.worker_id,
      ]);
      expect(locked.length).toBe(1);
      await waitFor(
        'the killed worker seen dead',
        async () => (await query('select 1 from buyer_sync.dead_workers where pid = $1', [worker!.pid])).length > 0,
        15_000,
      );
      expect(await recoverDeadWorkers(pool)).toEqual([worker!.worker_id]);
      expect(await query(`select 1 from graphile_worker.jobs where locked_by is not null`)).toEqual([]);
      // And a second serve runs the job.
      second = spawnCli(['serve'], env);
      await waitFor(
        'the job done by a second serve',
        async () => (await query(`select 1 from graphile_worker.jobs where id = $1`, [locked[0]!.id])).length === 0,
        60_000,
      );
    } catch (err) {
      // What the service said, with the failure: a fault test is read from its log.
      const o = serve.output();
      throw new Error(`${(err as Error).message}\n--- serve stdout\n${o.stdout}\n--- serve stderr\n${o.stderr}`, {
        cause: err,
      });
    } finally {
      watching = false;
      await watcher;
      if (serve.child.exitCode === null && serve.child.signalCode === null) {
        serve.child.kill('SIGTERM');
        await serve.done;
      }
      if (second) {
        second.child.kill('SIGTERM');
        const r = await second.done;
        expect(r.code).toBe(0);
      }
      await undoSlowWrites();
    }
  }, 180_000);
});
