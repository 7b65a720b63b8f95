/**
 * `buyer-sync serve`: the long-running service. Serves the dashboard and the
 * GraphQL API on HOST:PORT and runs the worker (syncs on the crontab's
 * schedule, retry rounds every minute, jobs requested from SQL or the
 * dashboard) until SIGINT or SIGTERM; then stops taking requests, lets
 * running jobs finish (or rolls them back and hands them back to the queue)
 * and exits 0. At start, a full sync is enqueued when the last one is older
 * than the schedule's period (a new database, a service that was down over a
 * tick), instead of waiting for the next tick.
 */
import { once } from 'node:events';
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { CannotRunError, ExitCode } from '../errors.ts';
import { loadMapping } from '../mapping/mapping.ts';
import { redactLogLine } from '../redact.ts';
import { cronPeriodMs, startWorker, stopReason } from '../worker/runtime.ts';
import { lastFullSyncAt, recordSchedules, requestSync, syncJobPending } from '../worker/sql.ts';
import { diag, getConfig, withDatabase, type CommandContext } from './common.ts';
import { engineOptions } from './sync.ts';
import { quotedPath } from '../paths.ts';

/** One line of the service's log, on stdout, stamped. */
export function serviceLog(line: string, keep: readonly string[] = []): void {
  // Redacted as the API redacts (src/redact.ts): no sheet address, server path or connection string in the journal.
  process.stdout.write(`${new Date().toISOString()} ${redactLogLine(line, keep)}\n`);
}

/** A diagnostic of the service (the embedded server starting, say), on stderr as every command's, redacted as its log. */
export function serviceDiag(line: string): void {
  diag(redactLogLine(line));
}

/**
 * A first full sync, unless one succeeded (or found the sheet unchanged)
 * within the schedule's period: enqueued with the job key of
 * buyer_sync.request_sync(), so it coalesces with any request already waiting.
 * `always`: whatever the last sync (npm start). Returns the job id, or null.
 */
async function enqueueFirstSync(db: Database, config: Config, when: 'due' | 'always' = 'due'): Promise<string | null> {
  const sheet =
    config.sheetSource !== null ? quotedPath(config.sheetSource) : 'the sample sheet (data/sample-buyers.csv)';
  let why = '';
  if (when === 'due') {
    // A sync job already queued, running, or locked by a worker that died (recovered at start) is that first sync.
    if (await syncJobPending(db.pool)) return null;
    const last = await lastFullSyncAt(db.pool);
    if (last !== null && Date.now() - last.getTime() <= cronPeriodMs(config.syncCron)) return null;
    why =
      last === null
        ? ': no full sync has succeeded yet'
        : `: the last full sync (${last.toISOString()}) is older than the schedule's period`;
  }
  const job = await requestSync(db.pool);
  serviceLog(`enqueued a first sync of ${sheet} (job ${job})${why}`);
  return job;
}

interface ServeOptions {
  /** When to enqueue a first sync at start: when due (serve), or always (npm start). */
  firstSync?: 'due' | 'always';
}

export async function runServe(
  db: Database,
  config: Config,
  ctx: CommandContext,
  options: ServeOptions = {},
): Promise<number> {
  const mapping = loadMapping(config.mappingFile);
  // Grafast reads GRAPHILE_ENV when it loads (and warns when it is unset): production unless configured otherwise.
  process.env.GRAPHILE_ENV ??= config.development ? 'development' : 'production';
  const { startHttp } = await import('../http/server.ts');
  // The port first: a port in use stops the start before the worker takes a job.
  const web = await startHttp(db, config, serviceLog);
  serviceLog(
    `dashboard at ${web.url} (GraphQL API at ${web.url}graphql${config.development ? `, GraphiQL at ${web.url}graphiql` : ''}); ` +
      (config.operatorToken
        ? 'operator actions with DASHBOARD_OPERATOR_TOKEN'
        : 'read-only: set DASHBOARD_OPERATOR_TOKEN for operator actions'),
    [web.url],
  );
  // The report tab (SHEET_REPORT_TAB): said once when it cannot be written; recorded so the database enqueues its writes.
  const { recordReportSetting, reportWriteProblem } = await import('../report/tab.ts');
  const reportProblem = reportWriteProblem(config);
  if (reportProblem) serviceLog(`report tab off: ${reportProblem}`);
  let worker;
  try {
    await recordReportSetting(db.pool, config);
    // The schedules, so the verdict can say when the next sync is due (buyer_sync.verdict's next_sync_at).
    await recordSchedules(db.pool, config.syncCron, config.healthCron);
    await enqueueFirstSync(db, config, options.firstSync ?? 'due');
    worker = await startWorker({
      pool: db.pool,
      url: db.url,
      config,
      mapping,
      engine: engineOptions(db, config),
      log: serviceLog,
    });
  } catch (err) {
    await web.close();
    throw err;
  }
  serviceLog(
    `worker running (${config.workerConcurrency} jobs at a time): full sync of ${config.sheetSource !== null ? quotedPath(config.sheetSource) : 'the sample sheet'} at "${config.syncCron}" (UTC), ` +
      `health check at "${config.healthCron}", retries every minute; alerts ${config.alertWebhookUrl ? 'go to ALERT_WEBHOOK_URL' : 'are recorded in sync_alerts (no ALERT_WEBHOOK_URL)'}. Ctrl-C stops it.`,
  );
  const stopped = once(ctx.signal, 'abort').then(() => 'signal' as const);
  const failed = worker.promise.then(
    () => 'ended' as const,
    (err: unknown) => err,
  );
  const outcome = await Promise.race([stopped, failed]);
  if (outcome === 'signal') serviceLog('stopping: running jobs finish or go back to the queue');
  const why =
    outcome === 'signal'
      ? String(ctx.signal.reason ?? 'stopping')
      : outcome === 'ended'
        ? 'the worker ended'
        : stopReason(outcome);
  await Promise.all([web.close(), worker.stop(why)]);
  if (outcome !== 'signal' && outcome !== 'ended') {
    // graphile-worker stopped on its own: one line says why; a supervisor restarts the service.
    serviceLog(`stopped: ${why}; running jobs went back to the queue`);
    throw new CannotRunError(`serve stopped: ${why}`, { cause: outcome });
  }
  serviceLog('stopped');
  return ExitCode.ok;
}

export async function serveCommand(): Promise<number> {
  const config = getConfig();
  return withDatabase(config, (db, ctx) => runServe(db, config, ctx), { log: serviceDiag });
}
