/**
 * Bounded history (issue 16): buyer_sync.retention and buyer_sync.prune_history
 * on a real database. History of every kind with old timestamps, some of it
 * still referenced by what is kept (an open retry entry's run, an open
 * alert's run and report, the latest sync, the latest report); the prune
 * deletes exactly what is past its window, in bounded rounds, and the
 * history__prune task does it through graphile-worker.
 */
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { projectRoot, readConfig } from '../src/config.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { Logger, runOnce } from 'graphile-worker';
import { setWorkerContext } from '../src/worker/context.ts';
import { crontabFor } from '../src/worker/runtime.ts';
import historyPrune from '../tasks/history__prune.ts';
import { pruneHistory, pruneLine } from '../src/worker/retention.ts';
import { migrationSections, resetSyncState, useTestDatabase, waitFor } from './helpers.ts';

const silent = new Logger(() => () => {});

const db = useTestDatabase();
beforeEach(async () => {
  await resetSyncState(db.pool);
  await db.pool.query(`delete from graphile_worker._private_jobs; delete from buyer_sync_private.mass_change_approvals;
    delete from buyer_sync_private.report_writes; delete from buyer_sync_private.report_state;
    update buyer_sync.retention r set keep = d.keep from (values ('runs', interval '90 days'), ('skipped_runs', interval '7 days'),
      ('verifications', interval '90 days'), ('verification_details', interval '30 days'), ('health_metrics', interval '90 days'),
      ('closed_retries', interval '90 days'), ('resolved_alerts', interval '180 days'), ('failed_jobs', interval '30 days'),
      ('report_writes', interval '90 days')) d(kind, keep)
     where r.kind = d.kind`);
});

const q = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) =>
  (await db.pool.query<T>(sql, values)).rows;
const one = async <T>(sql: string, values: unknown[] = []): Promise<T> => (await q<{ v: T }>(sql, values))[0]!.v;
const ago = (days: number) => `now() - interval '${days} days'`;

async function run(
  status: 'succeeded' | 'failed' | 'skipped' | 'running',
  days: number,
  o: { mode?: string; source?: string } = {},
): Promise<string> {
  const why =
    status === 'failed'
      ? { failure: `'sheet'` }
      : status === 'skipped'
        ? { skipped_because: `'unchanged'`, skipped_kind: `'unchanged'` }
        : {};
  const cols = {
    status: `'${status}'`,
    mode: `'${o.mode ?? 'full'}'`,
    source: `'${o.source ?? 'sheet.csv'}'`,
    batch_size: '1000',
    started_at: ago(days),
    ...why,
  };
  return one<string>(
    `insert into sync_runs (${Object.keys(cols).join(', ')}) values (${Object.values(cols).join(', ')}) returning id as v`,
  );
}
async function errors(runId: string | null, count: number, days: number): Promise<void> {
  await q(
    `insert into sync_error_log (run_id, buyer_number, error_message, error_type, created_at)
           select $1, 'E' || i, 'too long', 'field_length', ${ago(days)} from generate_series(1, $2) i`,
    [runId, count],
  );
}
async function changes(runId: string, count: number, days: number): Promise<void> {
  await q(
    `insert into sync_buyer_changes (run_id, buyer_number, action, changed_columns, changed_at)
           select $1, 'C' || i, 'update', array['name'], ${ago(days)} from generate_series(1, $2) i`,
    [runId, count],
  );
}
async function report(
  passed: boolean,
  days: number,
  o: { runId?: string | null; findings?: number; mismatches?: number } = {},
): Promise<string> {
  const id = await one<string>(
    `insert into buyer_sync.verification_reports (created_at, source, trigger, run_id, seed, sample_size, spreadsheet_count, database_count,
       missing_count, extra_count, unverifiable_count, mismatch_count, mismatched_buyers, complete, accurate, passed, summary, duration_ms)
     values (${ago(days)}, 'sheet.csv', 'after_sync', $1, 1, 10, 10, 10, 0, 0, 0, 0, 0, $2, $2, $2, 'x', 5) returning id as v`,
    [o.runId ?? null, passed],
  );
  await q(
    `insert into buyer_sync.verification_findings (report_id, finding, buyer_number) select $1, 'missing', 'F' || i from generate_series(1, $2) i`,
    [id, o.findings ?? 0],
  );
  await q(
    `insert into buyer_sync.verification_mismatches (report_id, buyer_number, field) select $1, 'M' || i, 'name' from generate_series(1, $2) i`,
    [id, o.mismatches ?? 0],
  );
  return id;
}
async function alert(o: {
  type: string;
  condition: string;
  createdDays: number;
  resolvedDays?: number;
  details?: object;
}): Promise<string> {
  return one<string>(
    `insert into sync_alerts (type, severity, message, details, condition, created_at, resolved_at, delivered_at)
     values ($1, 'error', 'm', $2, $3, ${ago(o.createdDays)}, ${o.resolvedDays === undefined ? 'null' : ago(o.resolvedDays)}, now()) returning id as v`,
    [o.type, JSON.stringify(o.details ?? {}), o.condition],
  );
}
async function notice(of: string, days: number): Promise<string> {
  return one<string>(
    `insert into sync_alerts (type, severity, message, details, condition, created_at, resolves, delivered_at)
     select type, 'info', 'resolved: m', '{"resolved": true}', condition, ${ago(days)}, id, now() from sync_alerts where id = $1 returning id as v`,
    [of],
  );
}
async function failedJob(days: number, attempts = 1): Promise<string> {
  const id = await one<string>(
    `select (graphile_worker.add_job('retention_test_task', '{}', max_attempts := 1)).id::text as v`,
  );
  await q(
    `update graphile_worker._private_jobs set attempts = $2, last_error = 'boom', updated_at = ${ago(days)}, created_at = ${ago(days)} where id = $1`,
    [id, attempts],
  );
  return id;
}
const ids = async (table: string, col = 'id') =>
  (await q<{ id: string }>(`select ${col}::text as id from ${table}`)).map((r) => r.id).sort();
const count = (table: string, where = 'true') => one<number>(`select count(*)::int as v from ${table} where ${where}`);
const sorted = (...xs: string[]) => [...xs].sort();

/** History of every kind, old and recent; returns what the prune must keep and what it must delete. */
async function seed() {
  // Runs and what hangs off them.
  const oldOk = await run('succeeded', 100);
  await errors(oldOk, 3, 100);
  await changes(oldOk, 4, 100);
  const oldFailed = await run('failed', 95);
  const recent = await run('succeeded', 10);
  await errors(recent, 2, 10);
  await changes(recent, 2, 10);
  const otherSourceLatest = await run('succeeded', 200, { source: 'other.csv' }); // the latest success of its source
  const retryRun = await run('failed', 120, { mode: 'retry' }); // an open retry entry's run
  await errors(retryRun, 1, 120);
  const alertRun = await run('succeeded', 120, { mode: 'only' }); // named by an open alert
  const running = await run('running', 100);
  const skippedOld = await run('skipped', 8);
  const skippedNew = await run('skipped', 1); // the latest full sync that succeeded or was skipped
  const resolvedRun = await run('succeeded', 100, { mode: 'retry' }); // a kept (recently closed) retry entry's run
  const metricRun = await run('succeeded', 100, { mode: 'only' }); // a kept health check's run
  await errors(null, 2, 100);
  await errors(null, 1, 10);

  // Verification reports (their alerts made by the trigger are replaced below).
  const passOld = await report(true, 40, { findings: 2, mismatches: 1 });
  const failOld = await report(false, 100, { runId: oldFailed, findings: 2, mismatches: 1 });
  const failMid = await report(false, 40, { findings: 1, mismatches: 1 });
  const failAlert = await report(false, 100, { findings: 1 });
  const passNew = await report(true, 10, { findings: 1 }); // the latest report

  // Retry entries.
  const retryOpen = await one<string>(
    `insert into retry_queue (buyer_number, error_info, next_retry_at, created_at, last_run_id)
                                       values ('B1', '{}', now() + interval '1 day', ${ago(120)}, $1) returning id as v`,
    [retryRun],
  );
  const retryClosedOld =
    await one<string>(`insert into retry_queue (buyer_number, error_info, next_retry_at, status, resolution, resolved_at)
                                            values ('B2', '{}', now(), 'succeeded', 'synced', ${ago(100)}) returning id as v`);
  const retryClosedNew = await one<string>(
    `insert into retry_queue (buyer_number, error_info, next_retry_at, status, resolution, resolved_at, resolved_run_id)
                                            values ('B3', '{}', now(), 'succeeded', 'synced', ${ago(10)}, $1) returning id as v`,
    [resolvedRun],
  );
  const retryFailedAlerted =
    await one<string>(`insert into retry_queue (buyer_number, error_info, next_retry_at, status, resolution, resolved_at)
                                                values ('B9', '{}', now(), 'failed', 'exhausted', ${ago(100)}) returning id as v`);
  const retryFailedGrouped =
    await one<string>(`insert into retry_queue (buyer_number, error_info, next_retry_at, status, resolution, resolved_at)
                                                values ('B7', '{}', now(), 'failed', 'exhausted', ${ago(100)}) returning id as v`);
  const retryFailedOld =
    await one<string>(`insert into retry_queue (buyer_number, error_info, next_retry_at, status, resolution, resolved_at)
                                            values ('B8', '{}', now(), 'failed', 'exhausted', ${ago(100)}) returning id as v`);

  // Alerts: only ours.
  await q(`delete from sync_alerts`);
  const open = await alert({
    type: 'high_error_rate',
    condition: 'high_error_rate',
    createdDays: 400,
    details: { run_id: alertRun },
  });
  const openReport = await alert({
    type: 'verification_failed',
    condition: 'verification_failed',
    createdDays: 100,
    details: { report_id: failAlert },
  });
  const openPermanent = await alert({
    type: 'permanent_failure',
    condition: 'permanent_failure:B9',
    createdDays: 100,
    details: { buyer_number: 'B9', buyer_numbers: ['B9', 'B7'] },
  });
  const resolvedOld = await alert({ type: 'slow_sync', condition: 'slow_sync', createdDays: 300, resolvedDays: 200 });
  const resolvedOldNotice = await notice(resolvedOld, 200);
  const resolvedOld2 = await alert({
    type: 'permanent_failure',
    condition: 'permanent_failure:B8',
    createdDays: 250,
    resolvedDays: 190,
  });
  const resolvedNew = await alert({ type: 'slow_sync', condition: 'slow_sync', createdDays: 120, resolvedDays: 100 });
  const resolvedNewNotice = await notice(resolvedNew, 100);

  // Health checks.
  const metricOld = await one<string>(
    `insert into sync_health_metrics (check_time, spreadsheet_count, database_count, missing_count, run_id)
                                       values (${ago(100)}, 1, 1, 0, $1) returning id as v`,
    [oldOk],
  );
  const metricKept = await one<string>(
    `insert into sync_health_metrics (check_time, spreadsheet_count, database_count, missing_count, run_id)
                                        values (${ago(50)}, 1, 1, 0, $1) returning id as v`,
    [metricRun],
  );
  const metricNew =
    await one<string>(`insert into sync_health_metrics (check_time, spreadsheet_count, database_count, missing_count)
                                       values (${ago(1)}, 1, 1, 0) returning id as v`);

  // graphile-worker: jobs that failed for good long ago and lately, one still to run (old), the alert deliveries.
  await q(`delete from graphile_worker._private_jobs`);
  const jobOld = await failedJob(40);
  const jobNew = await failedJob(10);
  const jobPending = await failedJob(40, 0);
  const jobLocked = await failedJob(40);
  await q(`update graphile_worker._private_jobs set locked_at = now(), locked_by = 'someone' where id = $1`, [
    jobLocked,
  ]);

  // Report tab writes: of one tab an old failure and an old write (both go) and a recent write; of another only an
  // old write (its latest: it stays).
  await q(`insert into buyer_sync_private.report_writes (target, attempted_at, outcome, failure)
           values ('t1', ${ago(200)}, 'failed', 'quota'), ('t1', ${ago(100)}, 'written', null),
                  ('t1', ${ago(1)}, 'written', null), ('t2', ${ago(200)}, 'written', null)`);

  await q(`insert into buyers (buyer_number) values ('X1'), ('X2')`);
  return {
    runs: {
      oldOk,
      oldFailed,
      recent,
      otherSourceLatest,
      retryRun,
      alertRun,
      running,
      skippedOld,
      skippedNew,
      resolvedRun,
      metricRun,
    },
    reports: { passOld, failOld, failMid, failAlert, passNew },
    retries: { retryOpen, retryClosedOld, retryClosedNew, retryFailedAlerted, retryFailedGrouped, retryFailedOld },
    alerts: {
      open,
      openReport,
      openPermanent,
      resolvedOld,
      resolvedOldNotice,
      resolvedOld2,
      resolvedNew,
      resolvedNewNotice,
    },
    metrics: { metricOld, metricKept, metricNew },
    jobs: { jobOld, jobNew, jobPending, jobLocked },
  };
}

describe('buyer_sync.prune_history by buyer_sync.retention', () => {
  it('deletes exactly what is past its window, and nothing still referenced by what is kept', async () => {
    const s = await seed();
    const before = { errors: await count('sync_error_log'), changes: await count('sync_buyer_changes') };
    expect(before).toEqual({ errors: 9, changes: 6 });

    const result = await pruneHistory(db.pool, { batchSize: 1000 });
    expect(result.complete).toBe(true);
    expect(Object.fromEntries(result.deleted)).toEqual({
      'graphile_worker.jobs': 1,
      sync_alerts: 3, // resolvedOld, its notice, resolvedOld2
      'buyer_sync.verification_findings': 4, // passOld 2, failOld 2
      'buyer_sync.verification_mismatches': 2, // passOld 1, failOld 1
      'buyer_sync.verification_reports': 1, // failOld
      sync_health_metrics: 1,
      retry_queue: 2, // retryClosedOld, retryFailedOld
      'buyer_sync_private.report_writes': 2, // t1's old failure and old write
      sync_error_log: 5, // oldOk 3, orphans 2
      sync_buyer_changes: 4,
      sync_runs: 3, // oldOk, oldFailed, skippedOld
    });
    expect(pruneLine(result)).toMatch(
      /^history prune: 28 row\(s\) deleted \(graphile_worker\.jobs 1, sync_alerts 3, .*sync_runs 3\) in 2 round\(s\), [\d.]+ s; nothing older is left$/,
    );

    expect(
      (
        await q<{ target: string }>(`select target from buyer_sync_private.report_writes order by target, attempted_at`)
      ).map((w) => w.target),
    ).toEqual(['t1', 't2']);
    const r = s.runs;
    expect(await ids('sync_runs')).toEqual(
      sorted(
        r.recent,
        r.otherSourceLatest,
        r.retryRun,
        r.alertRun,
        r.running,
        r.skippedNew,
        r.resolvedRun,
        r.metricRun,
      ),
    );
    expect(await count('sync_error_log', `run_id = '${r.recent}'`)).toBe(2);
    expect(await count('sync_error_log', `run_id = '${r.retryRun}'`)).toBe(1);
    expect(await count('sync_error_log', 'run_id is null')).toBe(1);
    expect(await count('sync_error_log')).toBe(4);
    expect(await ids('sync_buyer_changes', 'run_id')).toEqual([r.recent, r.recent]);

    expect(await ids('buyer_sync.verification_reports')).toEqual(
      sorted(s.reports.passOld, s.reports.failMid, s.reports.failAlert, s.reports.passNew),
    );
    expect(await count('buyer_sync.verification_findings', `report_id = '${s.reports.passOld}'`)).toBe(0);
    expect(await count('buyer_sync.verification_mismatches', `report_id = '${s.reports.passOld}'`)).toBe(0);
    expect(await count('buyer_sync.verification_findings', `report_id = '${s.reports.failMid}'`)).toBe(1);
    expect(await count('buyer_sync.verification_mismatches', `report_id = '${s.reports.failMid}'`)).toBe(1);
    expect(await count('buyer_sync.verification_findings', `report_id = '${s.reports.failAlert}'`)).toBe(1);
    expect(await count('buyer_sync.verification_findings', `report_id = '${s.reports.passNew}'`)).toBe(1);

    expect(await ids('retry_queue')).toEqual(
      sorted(s.retries.retryOpen, s.retries.retryClosedNew, s.retries.retryFailedAlerted, s.retries.retryFailedGrouped),
    );
    const a = s.alerts;
    expect(await ids('sync_alerts')).toEqual(
      sorted(a.open, a.openReport, a.openPermanent, a.resolvedNew, a.resolvedNewNotice),
    );
    expect(await ids('sync_health_metrics')).toEqual(sorted(s.metrics.metricKept, s.metrics.metricNew));
    expect(
      await ids(
        "graphile_worker._private_jobs where task_id in (select id from graphile_worker._private_tasks where identifier = 'retention_test_task')",
      ),
    ).toEqual(sorted(s.jobs.jobNew, s.jobs.jobPending, s.jobs.jobLocked));
    expect(await ids('buyers', 'buyer_number')).toEqual(['X1', 'X2']);

    // A second prune finds nothing.
    const again = await pruneHistory(db.pool);
    expect([...again.deleted.values()].every((n) => n === 0)).toBe(true);
    expect(again.rounds).toBe(1);
  });

  it('the protections go when what held them goes: a closed retry entry, a resolved alert, a newer success of the source', async () => {
    const s = await seed();
    await pruneHistory(db.pool);
    await q(
      `update retry_queue set status = 'succeeded', resolution = 'synced', resolved_at = ${ago(100)} where id = $1`,
      [s.retries.retryOpen],
    );
    await q(`update sync_alerts set resolved_at = ${ago(200)} where id in ($1, $2)`, [
      s.alerts.open,
      s.alerts.openReport,
    ]);
    await q(`update sync_alerts set resolved_at = now() where id = $1`, [s.alerts.openPermanent]);
    const newer = await run('succeeded', 1, { source: 'other.csv' });
    const result = await pruneHistory(db.pool);
    expect(Object.fromEntries([...result.deleted].filter(([, n]) => n > 0))).toEqual({
      sync_alerts: 2,
      'buyer_sync.verification_findings': 1,
      'buyer_sync.verification_reports': 1,
      retry_queue: 3, // retryOpen (now closed), retryFailedAlerted and retryFailedGrouped (their alert resolved)
      sync_error_log: 1,
      sync_runs: 3, // retryRun, alertRun, otherSourceLatest
    });
    expect(await ids('sync_runs')).toEqual(
      sorted(s.runs.recent, s.runs.running, s.runs.skippedNew, s.runs.resolvedRun, s.runs.metricRun, newer),
    );
  });

  it('deletes in bounded batches: batch_size 10 on 100 old runs with error logs, changes and health checks takes many rounds and deletes all', async () => {
    await q(`insert into sync_runs (id, status, mode, source, batch_size, started_at)
             select gen_random_uuid(), 'succeeded', 'only', 'sheet.csv', 10, now() - interval '100 days' - i * interval '1 minute' from generate_series(1, 100) i`);
    await q(`insert into sync_error_log (run_id, buyer_number, error_message, error_type, created_at)
             select id, 'E', 'x', 'unknown', started_at from sync_runs cross join generate_series(1, 2)`);
    await q(`insert into sync_buyer_changes (run_id, buyer_number, action, changed_columns, changed_at)
             select id, 'C' || i, 'update', array['name'], started_at from sync_runs cross join generate_series(1, 3) i`);
    await q(`insert into sync_health_metrics (check_time, spreadsheet_count, database_count, missing_count)
             select now() - interval '100 days' - i * interval '1 minute', 1, 1, 0 from generate_series(1, 100) i`);
    await q(
      `insert into sync_health_metrics (check_time, spreadsheet_count, database_count, missing_count) values (now(), 1, 1, 0)`,
    );
    const recent = await run('succeeded', 0, { mode: 'only' });

    // One round: no statement deletes more than the batch.
    const round = await q<{ table_name: string; deleted: string }>(`select * from buyer_sync.prune_history(10)`);
    expect(round.length).toBe(11);
    for (const r of round) expect(Number(r.deleted)).toBeLessThanOrEqual(10);
    expect(round.find((r) => r.table_name === 'sync_error_log')!.deleted).toBe('10');

    const result = await pruneHistory(db.pool, { batchSize: 10 });
    expect(result.complete).toBe(true);
    expect(result.rounds).toBeGreaterThanOrEqual(20);
    expect(await ids('sync_runs')).toEqual([recent]);
    expect(await count('sync_error_log')).toBe(0);
    expect(await count('sync_buyer_changes')).toBe(0);
    expect(await count('sync_health_metrics')).toBe(1);

    // A round limit stops the loop with work left, and says so.
    await q(`insert into sync_health_metrics (check_time, spreadsheet_count, database_count, missing_count)
             select now() - interval '100 days', 1, 1, 0 from generate_series(1, 50)`);
    const limited = await pruneHistory(db.pool, { batchSize: 10, maxRounds: 2 });
    expect(limited).toMatchObject({ complete: false, aborted: false, rounds: 2 });
    expect(pruneLine(limited)).toMatch(/round limit reached after 2 rounds/);
    expect(await count('sync_health_metrics')).toBe(31);
    // An aborted signal stops before the next round.
    const controller = new AbortController();
    controller.abort();
    expect(await pruneHistory(db.pool, { signal: controller.signal })).toMatchObject({
      rounds: 0,
      complete: false,
      aborted: true,
    });
    await expect(db.pool.query(`select * from buyer_sync.prune_history(0)`)).rejects.toThrow(
      /batch_size must be a positive number/,
    );
  });

  it('editing buyer_sync.retention changes what goes; a kind without its row keeps everything; keep must be positive', async () => {
    const s = await seed();
    await q(`update buyer_sync.retention set keep = interval '200 days' where kind = 'runs'`);
    await q(`update buyer_sync.retention set keep = interval '1 day' where kind = 'resolved_alerts'`);
    await q(`update buyer_sync.retention set keep = interval '5 days' where kind = 'verification_details'`);
    await q(`delete from buyer_sync.retention where kind = 'failed_jobs'`);
    const result = await pruneHistory(db.pool);
    expect(result.deleted.get('graphile_worker.jobs')).toBe(0);
    expect(result.deleted.get('sync_error_log')).toBe(0);
    expect(result.deleted.get('sync_buyer_changes')).toBe(0);
    const r = s.runs;
    // Only the skipped run goes; the 200-day-old success of other.csv is the latest of its source anyway.
    expect(await ids('sync_runs')).toEqual(
      sorted(
        r.oldOk,
        r.oldFailed,
        r.recent,
        r.otherSourceLatest,
        r.retryRun,
        r.alertRun,
        r.running,
        r.skippedNew,
        r.resolvedRun,
        r.metricRun,
      ),
    );
    const a = s.alerts;
    expect(await ids('sync_alerts')).toEqual(sorted(a.open, a.openReport, a.openPermanent));
    // passOld (40 days) lost its details under a 5-day window; passNew (10 days) keeps them: the latest report is kept whole.
    expect(await count('buyer_sync.verification_findings', `report_id = '${s.reports.passOld}'`)).toBe(0);
    expect(await count('buyer_sync.verification_findings', `report_id = '${s.reports.passNew}'`)).toBe(1);
    expect(await ids('buyer_sync.verification_reports')).toContain(s.reports.passNew);
    await expect(
      db.pool.query(`update buyer_sync.retention set keep = interval '0' where kind = 'runs'`),
    ).rejects.toThrow(/retention_keep_check/);
    // Minutes work too (the soak uses them).
    await q(`update buyer_sync.retention set keep = interval '1 minute'`);
    await q(
      `insert into buyer_sync.retention (kind, keep, applies_to) values ('failed_jobs', interval '1 minute', 'x')`,
    );
    await pruneHistory(db.pool);
    // Left: the latest success of each source, the latest full sync, the running one, and the runs an open retry entry or alert names.
    expect(await ids('sync_runs')).toEqual(
      sorted(r.recent, r.otherSourceLatest, r.retryRun, r.alertRun, r.running, r.skippedNew),
    );
    expect(await ids('buyers', 'buyer_number')).toEqual(['X1', 'X2']);
  });

  it('the migration goes down and up again', async () => {
    const { up, down } = migrationSections('065_retention.sql');
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query(down);
      expect(
        (
          await client.query(
            `select to_regclass('buyer_sync.retention') as t, to_regproc('buyer_sync.prune_history') as f`,
          )
        ).rows[0],
      ).toEqual({ t: null, f: null });
      await client.query(up);
      expect((await client.query(`select count(*)::int as n from buyer_sync.retention`)).rows[0]).toEqual({ n: 8 });
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});

describe('the history__prune task', () => {
  it('is scheduled once a day in the crontab', () => {
    const crontab = crontabFor(readConfig({ ...process.env, SYNC_CRON: '* * * * *' }));
    expect(crontab).toMatch(/^\d+ \d+ \* \* \* history__prune \?id=history_prune&jobKey=history__prune&max=3$/m);
  });

  it('runs through graphile-worker (the task file, as the worker loads it): prunes and logs one line', async () => {
    await seed();
    const lines: string[] = [];
    setWorkerContext({
      pool: db.pool,
      config: readConfig({ ...process.env, SHEET_SOURCE: path.join(projectRoot, 'data', 'sample-buyers.csv') }),
      mapping: loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json')),
      engine: {},
      log: (l) => lines.push(l),
    });
    try {
      await q(`select graphile_worker.add_job('history__prune', '{}', job_key := 'history__prune', max_attempts := 3)`);
      await runOnce({ pgPool: db.pool, taskList: { history__prune: historyPrune }, logger: silent });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^history prune: 28 row\(s\) deleted .* nothing older is left$/);
      expect(await count('sync_runs')).toBe(8);
      await waitFor(
        'the done job gone',
        async () => (await count('graphile_worker.jobs', `task_identifier = 'history__prune'`)) === 0,
        10_000,
      );
      // A payload that is not an object is dropped, not retried.
      await q(`select graphile_worker.add_job('history__prune', '"not an object"')`);
      await runOnce({ pgPool: db.pool, taskList: { history__prune: historyPrune }, logger: silent });
      // runOnce can return before its batched completion of the job lands: wait for the job to go, not for a moment.
      await waitFor(
        'the dropped job gone',
        async () => (await count('graphile_worker.jobs', `task_identifier = 'history__prune'`)) === 0,
        10_000,
      );
      expect(lines).toHaveLength(1);
    } finally {
      setWorkerContext(null);
    }
  });
});
