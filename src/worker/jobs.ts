/**
 * What the worker's tasks do, once their payload is checked: a full sync
 * (then the verification of what it wrote), a sync of given buyer numbers, a
 * retry round, a health check, the delivery of one alert, unlocking dead
 * workers' jobs. Each logs one line for the operator. Alerts are delivered by
 * their own jobs (enqueued by the database as each alert is raised).
 */
import { deliverAlert } from '../alerts/deliver.ts';
import { fmt } from '../format.ts';
import { alertLine } from '../monitor/alerts.ts';
import { checkHealth } from '../monitor/health.ts';
import { sourceFromConfig } from '../sheet/open.ts';
import { syncBuyers } from '../sync/engine.ts';
import { beforeFullRead } from '../sync/unchanged.ts';
import { processRetryQueue } from '../sync/retry-round.ts';
import type { SyncMode, SyncResult } from '../sync/types.ts';
import { verifyIntegrity } from '../verify/checker.ts';
import { workerContext } from './context.ts';
import { recoverDeadWorkers } from './liveness.ts';

/** A finished run in one line. */
export function runLine(r: SyncResult): string {
  return (
    `sync run ${r.runId} (${r.mode}) of ${r.source}: ${fmt(r.totalRows)} rows read: ${fmt(r.inserted)} inserted, ${fmt(r.updated)} updated, ` +
    `${fmt(r.unchanged)} unchanged, ${fmt(r.failed)} failed, ${fmt(r.blankRows)} blank; ${fmt(r.retryQueueSize)} in the retry queue; ` +
    `${(r.durationMs / 1000).toFixed(2)} s`
  );
}

/**
 * A sync run; after a full one, the verification of what it wrote against
 * the very rows it read (Data Flow 6). A verification that cannot run is
 * logged: the sync itself succeeded and is not repeated.
 */
async function sync(mode: SyncMode, keys: string[] | null, signal: AbortSignal | undefined, scheduled = false): Promise<void> {
  const c = workerContext();
  const source = sourceFromConfig(c.config, null, { log: c.log });
  try {
    let sourceVersion: string | null = null;
    if (mode === 'full') {
      const before = await beforeFullRead(c.pool, source, c.mapping, { skipIfUnchanged: scheduled, fullReadEveryMs: c.config.fullReadMinutes * 60_000, batchSize: c.config.batchSize });
      if (before.skipped) {
        c.log(`sync run ${before.skipped.runId} (full) of ${source.description}: skipped, ${before.skipped.because}`);
        return;
      }
      if (before.note) c.log(before.note);
      sourceVersion = before.sourceVersion;
    }
    const result = await syncBuyers(
      c.pool,
      {
        mode,
        source,
        mapping: c.mapping,
        keys,
        batchSize: c.config.batchSize,
        ...(signal ? { signal } : {}),
        warn: (w) => c.log(`warning: ${w}`),
        keepSource: true,
        sourceVersion,
      },
      c.engine,
    );
    c.log(runLine(result));
    for (const a of result.alerts) c.log(alertLine(a));
    if (mode !== 'full' || signal?.aborted) return;
    try {
      const report = await verifyIntegrity(c.pool, {
        source,
        mapping: c.mapping,
        sample: c.config.verifySample,
        trigger: 'after_sync',
        runId: result.runId,
        ...(signal ? { signal } : {}),
        keepSource: true,
      });
      c.log(`verification after run ${result.runId}: ${report.summary} (report ${report.id})`);
    } catch (err) {
      c.log(`verification after run ${result.runId} not done: ${(err as Error).message}`);
    }
  } finally {
    await source.release?.().catch(() => undefined);
  }
}

/** A full sync; a scheduled one skips reading a sheet that did not change (unchanged.ts). */
export const fullSync = (signal?: AbortSignal, o: { scheduled?: boolean } = {}) => sync('full', null, signal, o.scheduled === true);
export const syncNumbers = (numbers: string[], signal?: AbortSignal) => sync('only', numbers, signal);

export async function retryRound(signal?: AbortSignal): Promise<void> {
  const c = workerContext();
  const r = await processRetryQueue(c.pool, {
    mapping: c.mapping,
    limit: c.config.retryRoundLimit,
    sourceFor: (description) => sourceFromConfig(c.config, description, { log: c.log }),
    batchSize: c.config.batchSize,
    ...(signal ? { signal } : {}),
    warn: (w) => c.log(`warning: ${w}`),
    engine: c.engine,
  });
  for (const run of r.runs) for (const a of run.alerts) c.log(alertLine(a));
  if (r.processed + r.skipped.length > 0) {
    c.log(
      `retry round: ${fmt(r.processed)} processed: ${fmt(r.succeeded)} succeeded${r.leftSheet ? ` (${fmt(r.leftSheet)} left the sheet)` : ''}, ` +
        `${fmt(r.failed)} failed, ${fmt(r.permanentlyFailed)} failed for good` +
        r.skipped.map((s) => `; not run for ${s.source}: ${s.reason}`).join(''),
    );
  }
}

/** The health check every 5 minutes: one line when something is wrong or an alert was raised or resolved. */
export async function healthCheck(signal?: AbortSignal): Promise<void> {
  const c = workerContext();
  const source = sourceFromConfig(c.config, null, { log: c.log });
  const h = await checkHealth(c.pool, { source, mapping: c.mapping, ...(signal ? { signal } : {}) });
  for (const a of h.alerts) c.log(alertLine(a));
  if (!h.healthy) c.log(`health check: unhealthy: ${h.issues.join('; ')}`);
}

/** Delivers one alert; throws when the receiver failed, so graphile-worker retries the job with its backoff. */
export async function deliverAlertJob(alertId: string): Promise<void> {
  const c = workerContext();
  try {
    await deliverAlert(c.pool, c.config.alertWebhookUrl, alertId);
  } catch (err) {
    c.log((err as Error).message);
    throw err;
  }
}

export async function recoverWorkers(): Promise<void> {
  const c = workerContext();
  const dead = await recoverDeadWorkers(c.pool);
  if (dead.length > 0) c.log(`unlocked the jobs of ${dead.length} dead worker(s): ${dead.join(', ')}`);
}
