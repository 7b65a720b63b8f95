/**
 * What the worker's tasks do, once their payload is checked: a full sync, a
 * sync of given buyer numbers, a retry round, unlocking dead workers' jobs.
 * Each logs one line for the operator and delivers the alerts it raised.
 */
import { deliverAlerts } from '../alerts/deliver.ts';
import { fmt } from '../format.ts';
import { sourceFromConfig } from '../sheet/open.ts';
import { syncBuyers } from '../sync/engine.ts';
import { processRetryQueue } from '../sync/retry-round.ts';
import type { SyncMode, SyncResult } from '../sync/types.ts';
import { workerContext, type WorkerContext } from './context.ts';
import { recoverDeadWorkers } from './liveness.ts';

/** A finished run in one line. */
export function runLine(r: SyncResult): string {
  return (
    `sync run ${r.runId} (${r.mode}) of ${r.source}: ${fmt(r.totalRows)} rows read: ${fmt(r.inserted)} inserted, ${fmt(r.updated)} updated, ` +
    `${fmt(r.unchanged)} unchanged, ${fmt(r.failed)} failed, ${fmt(r.blankRows)} blank; ${fmt(r.retryQueueSize)} in the retry queue; ` +
    `${(r.durationMs / 1000).toFixed(2)} s`
  );
}

async function deliver(c: WorkerContext): Promise<void> {
  await deliverAlerts(c.pool, c.config.alertWebhookUrl, { log: c.log });
}

async function sync(mode: SyncMode, keys: string[] | null, signal: AbortSignal | undefined): Promise<void> {
  const c = workerContext();
  const source = sourceFromConfig(c.config, null, { log: c.log });
  const result = await syncBuyers(
    c.pool,
    { mode, source, mapping: c.mapping, keys, batchSize: c.config.batchSize, ...(signal ? { signal } : {}), warn: (w) => c.log(`warning: ${w}`) },
    c.engine,
  );
  c.log(runLine(result));
  await deliver(c);
}

export const fullSync = (signal?: AbortSignal) => sync('full', null, signal);
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
  if (r.processed + r.skipped.length > 0) {
    c.log(
      `retry round: ${fmt(r.processed)} processed: ${fmt(r.succeeded)} succeeded${r.leftSheet ? ` (${fmt(r.leftSheet)} left the sheet)` : ''}, ` +
        `${fmt(r.failed)} failed, ${fmt(r.permanentlyFailed)} failed for good` +
        r.skipped.map((s) => `; not run for ${s.source}: ${s.reason}`).join(''),
    );
  }
  await deliver(c);
}

export async function recoverWorkers(): Promise<void> {
  const c = workerContext();
  const dead = await recoverDeadWorkers(c.pool);
  if (dead.length > 0) c.log(`unlocked the jobs of ${dead.length} dead worker(s): ${dead.join(', ')}`);
}
