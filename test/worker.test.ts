/**
 * The worker, for real: graphile-worker running our tasks (in this process,
 * and as `buyer-sync serve` processes), fed from SQL. One sync at a time
 * whatever the number of workers; a killed worker's job is taken up at once;
 * SIGTERM stops serve cleanly.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_CRON, readConfig, projectRoot } from '../src/config.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { HEADER } from '../src/sample/generate.ts';
import { buyerNumbersOf, PoisonPayload, assertPlainPayload } from '../src/worker/payloads.ts';
import { CRONTAB_FILE, crontabFor, startWorker } from '../src/worker/runtime.ts';
import {
  resetSyncState,
  slowWrites,
  spawnCli,
  useTestDatabase,
  waitFor,
  waitUntilWriting,
  type CliProcess,
} from './helpers.ts';

const run = promisify(execFile);
const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-worker-'));
const db = useTestDatabase();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  await resetSyncState(db.pool);
  await db.pool.query(
    `delete from graphile_worker._private_jobs; delete from graphile_worker._private_job_queues; delete from buyer_sync_private.workers`,
  );
  // A killed worker is dead once its lock is gone and its heartbeat is older than dead_after: seconds here, a minute in production.
  await db.pool.query(`update buyer_sync_private.worker_liveness set heartbeat_every = '300 ms', dead_after = '3 s'`);
});

let n = 0;
function sheet(rows: number, prefix = 'W'): string {
  const f = path.join(dir, `sheet-${n++}.csv`);
  const pad = ','.repeat(HEADER.length - 2);
  writeFileSync(
    f,
    [
      HEADER.join(','),
      ...Array.from({ length: rows }, (_, i) => `${prefix}${String(i).padStart(5, '0')},name ${i}${pad}`),
    ].join('\n'),
  );
  return f;
}
const { query } = db;
/** The environment of a `serve` process on the test database: no scheduled full sync during a test. */
const serveEnv = (source: string) => ({
  DATABASE_URL: db.url,
  SHEET_SOURCE: source,
  SYNC_CRON: '0 0 1 1 *',
  SHEET_ENCODING: undefined,
  ALERT_WEBHOOK_URL: undefined,
});
const syncJobs = () =>
  query<{ n: number }>(
    `select count(*)::int as n from graphile_worker.jobs where task_identifier like 'buyers__sync%'`,
  ).then((r) => r[0]!.n);
async function stop(p: CliProcess) {
  p.child.kill('SIGTERM');
  return p.done;
}

describe('payloads are checked at the edge', () => {
  it('plain payloads are objects; buyer-number requests are arrays of {buyer_numbers}, merged and deduplicated', () => {
    expect(() => assertPlainPayload('t', { _cron: { ts: 'x' } })).not.toThrow();
    expect(() => assertPlainPayload('t', null)).not.toThrow();
    expect(() => assertPlainPayload('t', [1])).toThrow(PoisonPayload);
    expect(buyerNumbersOf('t', [{ buyer_numbers: ['1', ' 2 '] }, { buyer_numbers: ['2', '3'] }])).toEqual([
      '1',
      '2',
      '3',
    ]);
    for (const bad of [[{ buyer_numbers: 'x' }], [{ buyer_numbers: [1] }], [{ buyer_numbers: [' '] }], 'x', [{}]]) {
      expect(() => buyerNumbersOf('t', bad)).toThrow(PoisonPayload);
    }
  });

  it('a failed delivery round waits 5 s, doubling, never more than a minute', async () => {
    const { deliveryBackoffMs } = await import('../src/worker/jobs.ts');
    expect([1, 2, 3, 4, 5, 6, 25].map(deliveryBackoffMs)).toEqual([
      5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('the crontab schedules the full sync and the health check as SYNC_CRON and HEALTH_CRON say, and nothing else changes', () => {
    const text = crontabFor({ syncCron: '*/5 * * * *', healthCron: '*/2 * * * *' });
    expect(text).toContain('*/5 * * * * buyers__sync ?id=scheduled_sync&jobKey=buyers__sync&queue=buyer_sync&max=3');
    expect(text).toContain('*/2 * * * * health__check ?id=health_check&jobKey=health__check&max=1');
    expect(text).toContain('* * * * * retry_queue__process ?id=retry_round');
    const defaults = { syncCron: '*/15 * * * *', healthCron: DEFAULT_HEALTH_CRON };
    expect(crontabFor(defaults)).toBe(
      crontabFor(
        defaults,
        text
          .replace('*/5 * * * * buyers__sync', '*/15 * * * * buyers__sync')
          .replace('*/2 * * * * health__check', `${DEFAULT_HEALTH_CRON} health__check`),
      ),
    );
    expect(crontabFor(defaults)).toBe(readFileSync(CRONTAB_FILE, 'utf8'));
    // The defaults never start a health check in a minute that starts a full sync.
    const minutes = (field: string) => new Set(field === '*/15' ? [0, 15, 30, 45] : field.split(',').map(Number));
    const health = minutes(DEFAULT_HEALTH_CRON.split(' ')[0]!);
    expect([...minutes('*/15')].filter((m) => health.has(m))).toEqual([]);
    expect(health.size).toBe(12);
  });
});

describe('enqueue from SQL', () => {
  it('an operator role may request syncs and nothing else; a burst of requests is one job', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query('set local role buyer_sync_operator');
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++) ids.add((await client.query('select buyer_sync.request_sync() as id')).rows[0].id);
      expect(ids.size).toBe(1);
      const a = (await client.query(`select buyer_sync.request_buyer_sync(array['A1', 'A2']) as id`)).rows[0].id;
      const b = (await client.query(`select buyer_sync.request_buyer_sync(array['A2', 'B1']) as id`)).rows[0].id;
      expect(a).toBe(b);
      await client.query('savepoint s');
      await expect(client.query('select count(*) from buyers')).rejects.toMatchObject({ code: '42501' });
      await client.query('rollback to savepoint s');
      await expect(client.query('select count(*) from graphile_worker.jobs')).rejects.toMatchObject({ code: '42501' });
      await client.query('rollback to savepoint s');
      await expect(client.query(`select buyer_sync.request_buyer_sync(array[]::text[])`)).rejects.toMatchObject({
        code: '22023',
      });
      await client.query('rollback to savepoint s');
      await client.query('commit');
    } finally {
      await client.query('rollback').catch(() => undefined);
      client.release();
    }
    // The merged request: both arrays of buyer numbers are in the one job's payload.
    const [job] = await query<{ payload: unknown }>(
      `select payload from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id where t.identifier = 'buyers__sync_numbers'`,
    );
    expect(buyerNumbersOf('t', job!.payload)).toEqual(['A1', 'A2', 'B1']);
  });

  it('a job enqueued by `select buyer_sync.request_sync()` in psql is run by a worker', async () => {
    const source = sheet(30, 'P');
    await run('psql', [db.url, '-v', 'ON_ERROR_STOP=1', '-c', 'select buyer_sync.request_sync()']);
    const lines: string[] = [];
    const worker = await startWorker({
      pool: db.pool,
      url: db.url,
      config: readConfig({ ...process.env, SHEET_SOURCE: source, SYNC_CRON: '0 0 1 1 *' }),
      mapping,
      engine: {},
      log: (l) => lines.push(l),
    });
    try {
      await waitFor(
        'the requested sync',
        async () =>
          (await syncJobs()) === 0 &&
          (await query(`select 1 from sync_runs where status = 'succeeded' and mode = 'full'`)).length === 1,
      );
      expect((await query<{ n: number }>('select count(*)::int as n from buyers'))[0]!.n).toBe(30);
      expect(lines.some((l) => /^sync run [0-9a-f-]{36} \(full\) of .*: 30 rows read: 30 inserted/.test(l))).toBe(true);
    } finally {
      await worker.stop();
    }
  });
});

describe('serve: many workers, one sync at a time', () => {
  it('three serve processes and a burst of requests: every job done, syncs never overlap, nothing written twice; SIGTERM stops each with exit 0 within seconds', async () => {
    const source = sheet(400, 'M');
    const workers = [
      spawnCli(['serve'], serveEnv(source)),
      spawnCli(['serve'], serveEnv(source)),
      spawnCli(['serve'], serveEnv(source)),
    ];
    try {
      await waitFor(
        'three registered workers',
        async () => (await query('select 1 from buyer_sync_private.workers')).length >= 3,
        30_000,
      );
      for (let i = 0; i < 12; i++) {
        await db.pool.query(
          i % 3 === 2
            ? `select buyer_sync.request_buyer_sync(array['M00001', 'M00002'])`
            : 'select buyer_sync.request_sync()',
        );
        await new Promise((r) => setTimeout(r, 150));
      }
      await waitFor(
        'every sync job done',
        async () =>
          (await syncJobs()) === 0 && (await query(`select 1 from sync_runs where status = 'running'`)).length === 0,
        60_000,
      );
      const runs = await query<{ started_at: Date; finished_at: Date; status: string; inserted: number }>(
        `select started_at, finished_at, status, inserted from sync_runs order by started_at`,
      );
      expect(runs.length).toBeGreaterThanOrEqual(2);
      for (const r of runs) expect(r.status).toBe('succeeded');
      for (let i = 1; i < runs.length; i++)
        expect(runs[i]!.started_at.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.finished_at.getTime());
      expect(runs.reduce((sum, r) => sum + r.inserted, 0)).toBe(400);
      expect((await query<{ n: number }>('select count(*)::int as n from buyers'))[0]!.n).toBe(400);
    } finally {
      const started = Date.now();
      const results = await Promise.all(workers.map(stop));
      expect(Date.now() - started).toBeLessThan(15_000);
      for (const r of results) {
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('stopped');
      }
    }
  });

  it('a worker killed with SIGKILL mid-sync: a fresh worker takes the job up at once, and every buyer is accounted for', async () => {
    const undoSlowWrites = await slowWrites(db.pool, 0.01);
    try {
      const source = sheet(600, 'K');
      const doomed = spawnCli(['serve'], { ...serveEnv(source), SYNC_BATCH_SIZE: '20' });
      await db.pool.query('select buyer_sync.request_sync()');
      await waitUntilWriting(db.pool);
      const [victim] = await query<{ pid: number }>('select pid from buyer_sync_private.workers limit 1');
      doomed.child.kill('SIGKILL');
      await doomed.done;
      // Its liveness lock went with its connections: it is dead for certain, not just slow.
      await waitFor(
        'the killed worker seen dead',
        async () => (await query('select 1 from buyer_sync.dead_workers where pid = $1', [victim!.pid])).length > 0,
        10_000,
      );
      const locked = await query<{ locked_by: string }>(
        `select locked_by from graphile_worker.jobs where task_identifier = 'buyers__sync'`,
      );
      expect(locked[0]?.locked_by).toBeTruthy(); // without recovery it would stay locked for 4 hours

      const fresh = spawnCli(['serve'], { ...serveEnv(source), SYNC_BATCH_SIZE: '200' });
      try {
        await waitFor(
          'the job done by the fresh worker',
          async () =>
            (await query(`select 1 from sync_runs where status = 'succeeded'`)).length === 1 &&
            (await syncJobs()) === 0,
          60_000,
        );
        expect(fresh.output().stdout).toMatch(/unlocked the jobs of 1 dead worker\(s\)/);
        const runs = await query<{ status: string; error_message: string | null }>(
          `select status, error_message from sync_runs order by started_at`,
        );
        expect(runs[0]).toMatchObject({ status: 'failed' });
        expect(runs[0]!.error_message).toMatch(/^interrupted: /);
        const [{ n }] = (await query<{ n: number }>('select count(*)::int as n from buyers')) as [{ n: number }];
        expect(n).toBe(600);
      } finally {
        const r = await stop(fresh);
        expect(r.code).toBe(0);
      }
    } finally {
      await undoSlowWrites();
    }
  });
});
