/**
 * `buyer-sync serve`: the long-running service. Serves the dashboard and the
 * GraphQL API on HOST:PORT and runs the worker (syncs on the crontab's
 * schedule, retry rounds every minute, jobs requested from SQL or the
 * dashboard) until SIGINT or SIGTERM; then stops taking requests, lets
 * running jobs finish (or rolls them back and hands them back to the queue)
 * and exits 0.
 */
import { once } from 'node:events';
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { ExitCode } from '../errors.ts';
import { loadMapping } from '../mapping/mapping.ts';
import { startWorker } from '../worker/runtime.ts';
import { getConfig, withDatabase, type CommandContext } from './common.ts';
import { engineOptions } from './sync.ts';

/** One line of the service's log, on stdout, stamped. */
export function serviceLog(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

export async function runServe(db: Database, config: Config, ctx: CommandContext): Promise<number> {
  const mapping = loadMapping(config.mappingFile);
  // Grafast reads GRAPHILE_ENV when it loads (and warns when it is unset): production unless configured otherwise.
  process.env.GRAPHILE_ENV ??= config.development ? 'development' : 'production';
  const { startHttp } = await import('../http/server.ts');
  // The port first: a port in use stops the start before the worker takes a job.
  const web = await startHttp(db, config, serviceLog);
  serviceLog(
    `dashboard at ${web.url} (GraphQL API at ${web.url}graphql${config.development ? `, GraphiQL at ${web.url}graphiql` : ''}); ` +
      (config.operatorToken ? 'operator actions with DASHBOARD_OPERATOR_TOKEN' : 'read-only: set DASHBOARD_OPERATOR_TOKEN for operator actions'),
  );
  let worker;
  try {
    worker = await startWorker({ pool: db.pool, url: db.url, config, mapping, engine: engineOptions(db, config), log: serviceLog });
  } catch (err) {
    await web.close();
    throw err;
  }
  serviceLog(
    `worker running (${config.workerConcurrency} jobs at a time): full sync of ${config.sheetSource ?? 'the sample sheet'} at "${config.syncCron}" (UTC), ` +
      `health check at "${config.healthCron}", retries every minute; alerts ${config.alertWebhookUrl ? 'go to ALERT_WEBHOOK_URL' : 'are recorded in sync_alerts (no ALERT_WEBHOOK_URL)'}. Ctrl-C stops it.`,
  );
  const stopped = once(ctx.signal, 'abort').then(() => 'signal' as const);
  const failed = worker.promise.then(
    () => 'ended' as const,
    (err: unknown) => err,
  );
  const outcome = await Promise.race([stopped, failed]);
  if (outcome === 'signal') serviceLog('stopping: running jobs finish or go back to the queue');
  await Promise.all([web.close(), worker.stop()]);
  if (outcome !== 'signal' && outcome !== 'ended') throw outcome;
  serviceLog('stopped');
  return ExitCode.ok;
}

export async function serveCommand(): Promise<number> {
  const config = getConfig();
  return withDatabase(config, (db, ctx) => runServe(db, config, ctx));
}
