/**
 * What the worker's tasks do, once their payload is checked: a full sync
 * (then the verification of what it wrote), a sync of given buyer numbers, a
 * retry round, a health check, the delivery of one alert, unlocking dead
 * workers' jobs. Each logs one line for the operator. Alerts are delivered by
 * their own jobs (enqueued by the database as each alert is raised).
 */
import { deliveryRound } from '../alerts/deliver.ts';
import { fmt } from '../format.ts';
import { alertLine } from '../monitor/alerts.ts';
import { checkHealth } from '../monitor/health.ts';
import { sourceFromConfig } from '../sheet/open.ts';
import { connectionLost, errorCode, failureText, isConnectionLevel } from '../sync/error-types.ts';
import { syncBuyers } from '../sync/engine.ts';
import { SyncAbortedError, SyncBusy, SyncCancelled } from '../sync/errors.ts';
import { MassChangeRefused } from '../sync/mass-change.ts';
import { beforeFullRead } from '../sync/unchanged.ts';
import { processRetryQueue } from '../sync/retry-round.ts';
import type { SyncMode, SyncResult } from '../sync/types.ts';
import { verifyIntegrity } from '../verify/checker.ts';
import { workerContext } from './context.ts';
import { recoverDeadWorkers } from './liveness.ts';
import type { Requeue } from './requeue.ts';
import { quotedPath } from '../paths.ts';

/** A finished run in one line. */
export function runLine(r: SyncResult): string {
  return (
    `sync run ${r.runId} (${r.mode}) of ${quotedPath(r.source)}: ${fmt(r.totalRows)} rows read: ${fmt(r.inserted)} inserted, ${fmt(r.updated)} updated, ` +
    `${fmt(r.unchanged)} unchanged, ${fmt(r.failed)} failed, ${fmt(r.blankRows)} blank; ${fmt(r.retryQueueSize)} in the retry queue; ` +
    `${(r.durationMs / 1000).toFixed(2)} s`
  );
}

/** When a sync that found the sync lock held after its wait runs again (the wait itself is the engine's, SYNC_LOCK_WAIT_SECONDS). */
const BUSY_REQUEUE_MS = 60_000;

/** When a sync cut off by a lost database connection runs again (the connection has usually come back by then). */
const LOST_REQUEUE_MS = 10_000;

/** The engine as the worker runs it: it waits for the sync lock (SYNC_LOCK_WAIT_SECONDS) when a command-line sync or verification holds it. */
const engine = () => {
  const c = workerContext();
  return { lockWaitMs: c.config.syncLockWaitSeconds * 1000, ...c.engine };
};

/**
 * A sync run; after a full one, the verification of what it wrote against
 * the very rows it read (Data Flow 6). A verification that cannot run is
 * logged: the sync itself succeeded and is not repeated.
 */
async function sync(
  mode: SyncMode,
  keys: string[] | null,
  signal: AbortSignal | undefined,
  scheduled = false,
  requeue?: Requeue,
): Promise<void> {
  const c = workerContext();
  const source = sourceFromConfig(c.config, null, { log: c.log });
  try {
    let sourceVersion: string | null = null;
    if (mode === 'full') {
      const before = await beforeFullRead(c.pool, source, c.mapping, {
        skipIfUnchanged: scheduled,
        fullReadEveryMs: c.config.fullReadMinutes * 60_000,
        batchSize: c.config.batchSize,
      });
      if (before.skipped) {
        c.log(
          `sync run ${before.skipped.runId} (full) of ${quotedPath(source.description)}: skipped, ${before.skipped.because}`,
        );
        return;
      }
      if (before.note) c.log(before.note);
      sourceVersion = before.sourceVersion;
    }
    let result: SyncResult;
    try {
      result = await syncBuyers(
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
        engine(),
      );
    } catch (err) {
      // The mass-change guard refused the run (recorded, alerted): the same sheet would be refused again, so the job ends here.
      if ((err as Error).cause instanceof MassChangeRefused) {
        c.log((err as Error).message);
        for (const a of ((err as Error).cause as MassChangeRefused).alerts) c.log(alertLine(a));
        return;
      }
      if (requeue && (await gaveBack(err, signal, requeue))) return;
      throw err;
    }
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
      c.log(
        `verification after run ${result.runId} not done: ${failureText(err)}; the next scheduled sync verifies again`,
      );
    }
  } finally {
    await source.release?.().catch(() => undefined);
  }
}

/**
 * A sync that did not run for a reason that is no fault of the job goes back
 * to the queue with its attempts whole (requeue.ts): the sync lock still held
 * after the engine's wait (a long command-line sync or verification): again
 * in a minute; the worker stopping (SIGTERM, Ctrl-C): again at once, for
 * whichever worker runs next. Says so in one line. Returns whether it did.
 */
async function gaveBack(err: unknown, signal: AbortSignal | undefined, requeue: Requeue): Promise<boolean> {
  const c = workerContext();
  const stopping =
    signal?.aborted === true &&
    (err instanceof SyncCancelled || (err as Error)?.cause instanceof SyncCancelled || err instanceof SyncAbortedError);
  // A run cut off by a lost connection (a restart, pg_terminate_backend) wrote nothing and says so in sync_runs: no fault of the job.
  const lost = !stopping && err instanceof SyncAbortedError && isConnectionLevel((err as Error).cause);
  if (!(err instanceof SyncBusy) && !stopping && !lost) return false;
  const at = new Date(Date.now() + (stopping ? 0 : lost ? LOST_REQUEUE_MS : BUSY_REQUEUE_MS));
  try {
    await requeue(at);
  } catch (e) {
    c.log(
      `could not give the job back to the queue (${errorCode(e) ?? (e as Error).message}); it fails this attempt instead`,
    );
    return false;
  }
  c.log(
    stopping
      ? 'stopped: the run was rolled back; the job goes back to the queue'
      : lost
        ? `sync stopped: ${connectionLost((err as Error).cause)}; nothing was written; the job goes back to the queue for ${at.toISOString()}`
        : `sync not run: ${(err as Error).message.replace(/; try again when it has finished$/, '')}; queued again for ${at.toISOString()}`,
  );
  return true;
}

/** A full sync; a scheduled one skips reading a sheet that did not change (unchanged.ts). */
export const fullSync = (signal?: AbortSignal, o: { scheduled?: boolean; requeue?: Requeue } = {}) =>
  sync('full', null, signal, o.scheduled === true, o.requeue);
export const syncNumbers = (numbers: string[], signal?: AbortSignal, requeue?: Requeue) =>
  sync('only', numbers, signal, false, requeue);

export async function retryRound(signal?: AbortSignal, requeue?: Requeue): Promise<void> {
  try {
    await retryRoundOnce(signal);
  } catch (err) {
    if (requeue && (await gaveBack(err, signal, requeue))) return;
    throw err;
  }
}

async function retryRoundOnce(signal?: AbortSignal): Promise<void> {
  const c = workerContext();
  const r = await processRetryQueue(c.pool, {
    mapping: c.mapping,
    limit: c.config.retryRoundLimit,
    sourceFor: (description) => sourceFromConfig(c.config, description, { log: c.log }),
    batchSize: c.config.batchSize,
    ...(signal ? { signal } : {}),
    warn: (w) => c.log(`warning: ${w}`),
    engine: engine(),
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

/** The pause after a failed delivery round: 5 s, doubling, at most a minute (so delivery resumes within a minute of the receiver's return). */
export function deliveryBackoffMs(failedRounds: number): number {
  return Math.min(5_000 * 2 ** Math.max(failedRounds - 1, 0), 60_000);
}

/**
 * A delivery round (alerts__deliver): every undelivered alert, oldest first,
 * until the receiver fails; then one line, and the next round after the
 * backoff (the job added again, its attempts whole). graphile-worker's own
 * backoff (exponential, hours late after an outage) is never used.
 */
export async function deliveryRoundJob(requeue?: Requeue): Promise<void> {
  const c = workerContext();
  const r = await deliveryRound(c.pool, c.config.alertWebhookUrl);
  if (r.failure === null) return;
  const waitMs = deliveryBackoffMs(r.failure.attempts);
  c.log(
    `alert delivery failed: ALERT_WEBHOOK_URL answered ${r.failure.why}; ${fmt(r.left)} alert(s) wait` +
      (requeue ? `, next try in ${Math.round(waitMs / 1000)} s` : ''),
  );
  if (!requeue) throw new Error(`alert delivery failed: ${r.failure.why}`);
  await requeue(new Date(Date.now() + waitMs));
}

export async function recoverWorkers(): Promise<void> {
  const c = workerContext();
  const dead = await recoverDeadWorkers(c.pool);
  if (dead.length > 0) c.log(`unlocked the jobs of ${dead.length} dead worker(s): ${dead.join(', ')}`);
}
