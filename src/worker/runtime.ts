/**
 * The worker `buyer-sync serve` runs: graphile-worker in library mode over
 * the task files in tasks/ (one file a task, the file name is the task) and
 * the schedule in the repository's crontab (SYNC_CRON and HEALTH_CRON
 * override the full sync's and the health check's schedules).
 *
 * - Every sync job (scheduled, requested from SQL, a retry round) is in the
 *   queue buyer_sync: they run one at a time across all workers of all
 *   processes, and the sync lock keeps them apart from command-line syncs.
 * - Any number of `serve` processes, on any number of machines, may share one
 *   database: graphile-worker hands each job to one worker and enqueues each
 *   cron tick once.
 * - A worker that dies (SIGKILL, a lost machine) is noticed through its
 *   liveness lock (liveness.ts): its jobs are unlocked at once by the next
 *   worker that starts and by the workers__recover task every minute, instead
 *   of staying locked for graphile-worker's 4 hours.
 * - stop(): running jobs get a few seconds to finish; then their abort signal
 *   fires, a sync rolls back and records that it was stopped, and the job
 *   goes back to the queue for another worker.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Logger, run, type WorkerEvents } from 'graphile-worker';
import type pg from 'pg';
import { projectRoot, type Config } from '../config.ts';
import type { Mapping } from '../mapping/mapping.ts';
import { oneLine } from '../printable.ts';
import type { EngineOptions } from '../sync/engine.ts';
import { setWorkerContext } from './context.ts';
import { recoverDeadWorkers, WorkerLiveness } from './liveness.ts';

export const TASK_DIRECTORY = path.join(projectRoot, 'tasks');
export const CRONTAB_FILE = path.join(projectRoot, 'crontab');

/** The crontab lines whose schedule configuration replaces, by the line's id. */
const SCHEDULES: { id: string; of: (c: Pick<Config, 'syncCron' | 'healthCron'>) => string }[] = [
  { id: 'scheduled_sync', of: (c) => c.syncCron },
  { id: 'health_check', of: (c) => c.healthCron },
];

/** The repository's crontab, with the full sync's schedule set to SYNC_CRON and the health check's to HEALTH_CRON. */
export function crontabFor(config: Pick<Config, 'syncCron' | 'healthCron'>, text = readFileSync(CRONTAB_FILE, 'utf8')): string {
  return text
    .split('\n')
    .map((line) => {
      if (line.trimStart().startsWith('#')) return line;
      const schedule = SCHEDULES.find((s) => new RegExp(`[?&]id=${s.id}(&|\\s|$)`).test(line));
      return schedule ? `${schedule.of(config)} ${line.trim().split(/\s+/).slice(5).join(' ')}` : line;
    })
    .join('\n');
}

export interface RunningWorker {
  /** Stops taking jobs, lets running ones finish or abort them, and lets go of everything. */
  stop(): Promise<void>;
  /** Settles when the worker has stopped (rejects if it failed). */
  promise: Promise<void>;
}

export interface WorkerStart {
  pool: pg.Pool;
  /** Connection string of the same database (the liveness connection). */
  url: string;
  config: Config;
  mapping: Mapping;
  engine: EngineOptions;
  log: (line: string) => void;
  /** How long running jobs may take to finish on stop() before they are aborted. */
  graceMs?: number;
}

export async function startWorker(s: WorkerStart): Promise<RunningWorker> {
  setWorkerContext({ pool: s.pool, config: s.config, mapping: s.mapping, engine: s.engine, log: s.log });
  const liveness = new WorkerLiveness(s.url);
  await liveness.start();
  const dead = await recoverDeadWorkers(s.pool);
  if (dead.length > 0) s.log(`unlocked the jobs of ${dead.length} dead worker(s): ${dead.join(', ')}`);

  // graphile-worker locks jobs in the name of the worker pool (locked_by = the pool's id): that is what lives or dies.
  const events = new EventEmitter() as WorkerEvents;
  events.on('pool:create', ({ workerPool }) => {
    liveness.register(workerPool.id).catch((err: unknown) => s.log(`could not register worker pool ${workerPool.id}: ${(err as Error).message}`));
  });
  events.on('pool:release', ({ workerPool }) => {
    liveness.unregister(workerPool.id).catch(() => undefined);
  });
  const logger = new Logger(() => (level, message) => {
    // graphile-worker's own chatter stays quiet; what went wrong is one line (no stack: the run records hold the details).
    if (level === 'error' || level === 'warning') s.log(`worker ${level}: ${oneLine(message.split('\n')[0] ?? message)}`);
  });
  const runner = await run({
    pgPool: s.pool,
    taskDirectory: TASK_DIRECTORY,
    crontab: crontabFor(s.config),
    concurrency: s.config.workerConcurrency,
    noHandleSignals: true,
    pollInterval: 2000,
    events,
    logger,
    gracefulShutdownAbortTimeout: s.graceMs ?? 5000,
  });
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      try {
        await runner.stop();
      } finally {
        await liveness.close();
        setWorkerContext(null);
      }
    })());
  return { stop, promise: runner.promise };
}
