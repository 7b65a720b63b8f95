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
 *   liveness lock and heartbeat (liveness.ts): its jobs are unlocked by the
 *   next worker that starts and by the workers__recover task every minute,
 *   once its heartbeat is older than worker_liveness.dead_after (60 s),
 *   instead of staying locked for graphile-worker's 4 hours. A connection
 *   blip is not a death: the connections come back and the work goes on.
 * - stop(): running jobs get a few seconds to finish; then their abort signal
 *   fires with the reason (a signal received, the database lost), a sync
 *   rolls back and records that it was stopped, and the job goes back to the
 *   queue for another worker.
 * - The log says what happened in one line each: a lost connection once per
 *   outage, a failed job with its reason, never graphile-worker's internals.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  getTasks,
  Logger,
  parseCrontab,
  run,
  type LogLevel,
  type Task,
  type TaskList,
  type WorkerEvents,
} from 'graphile-worker';
import { retryLostConnections } from './retryable.ts';
import type pg from 'pg';
import { projectRoot, type Config } from '../config.ts';
import type { Mapping } from '../mapping/mapping.ts';
import { oneLine } from '../printable.ts';
import type { EngineOptions } from '../sync/engine.ts';
import { errorCode, isConnectionLevel } from '../sync/error-types.ts';
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
export function crontabFor(
  config: Pick<Config, 'syncCron' | 'healthCron'>,
  text = readFileSync(CRONTAB_FILE, 'utf8'),
): string {
  return text
    .split('\n')
    .map((line) => {
      if (line.trimStart().startsWith('#')) return line;
      const schedule = SCHEDULES.find((s) => new RegExp(`[?&]id=${s.id}(&|\\s|$)`).test(line));
      return schedule ? `${schedule.of(config)} ${line.trim().split(/\s+/).slice(5).join(' ')}` : line;
    })
    .join('\n');
}

/**
 * The longest gap between two consecutive fire times of a cron schedule
 * (UTC), over a year from `from`: how old the last full sync may be before a
 * starting `serve` runs one instead of waiting for the next tick.
 */
export function cronPeriodMs(schedule: string, from = new Date()): number {
  const [item] = parseCrontab(`${schedule} buyers__sync`);
  const MINUTE = 60_000;
  const start = Math.floor(from.getTime() / MINUTE) * MINUTE;
  const end = start + 366 * 24 * 60 * MINUTE;
  let first: number | null = null;
  let last: number | null = null;
  let gap = 0;
  for (let t = start; t < end; t += MINUTE) {
    const d = new Date(t);
    if (
      !item!.match({
        min: d.getUTCMinutes(),
        hour: d.getUTCHours(),
        date: d.getUTCDate(),
        month: d.getUTCMonth() + 1,
        dow: d.getUTCDay(),
      })
    )
      continue;
    if (last !== null) gap = Math.max(gap, t - last);
    first ??= t;
    last = t;
  }
  if (first === null || last === null) return end - start;
  // The wrap-around: from the last fire time of the year to the first of the next.
  return Math.max(gap, first + 366 * 24 * 60 * MINUTE - last, MINUTE);
}

export interface RunningWorker {
  /** Stops taking jobs, lets running ones finish or abort them (with `reason`), and lets go of everything. */
  stop(reason?: string): Promise<void>;
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

/** Why the worker stopped on its own, as one line: a lost database, or graphile-worker's reason. */
export function stopReason(err: unknown): string {
  if (isConnectionLevel(err) || isConnectionLevel((err as Error)?.cause)) return 'the database connection was lost';
  return `the worker failed: ${oneLine(((err as Error)?.message ?? String(err)).split('\n')[0] ?? '')}`;
}

/**
 * One line per outage however many connections saw it (the liveness
 * connection, graphile-worker's listener, its job queries): the first loss is
 * said, the rest folded in until the liveness connection is back.
 */
class ConnectionReport {
  private down = false;
  private downAt = 0;
  private backAt = 0;
  private readonly log: (line: string) => void;
  constructor(log: (line: string) => void) {
    this.log = log;
  }
  lost(code: string): void {
    // A connection that reports the same outage just after the liveness one came back is the same outage.
    // (An outage only graphile-worker saw is never restored by the liveness connection: it expires.)
    const now = Date.now();
    if ((this.down && now - this.downAt < 30_000) || now - this.backAt < 2000) return;
    this.down = true;
    this.downAt = now;
    this.log(`the database connection was lost (${code}); reconnecting`);
  }
  restored(downMs: number): void {
    if (!this.down) return;
    this.down = false;
    this.backAt = Date.now();
    if (downMs >= 2000) this.log(`reconnected to the database after ${(downMs / 1000).toFixed(1)} s`);
  }
}

/** graphile-worker's messages about a connection (its listener, its lock resets): folded into the outage line. */
const CONNECTION_CHATTER =
  /notify listener|UNLISTEN|releasing listening client|reset locked|idle client|Connection terminated|connection error/i;
/** "Failed task 5 (buyers__sync, 15.40ms, attempt 2 of 3) with error 'message':\n<stack>" */
const FAILED_TASK =
  /^Failed task (\d+) \(([^,]+), [^,]+, attempt (\d+) of (\d+)\) with error '([\s\S]*?)'(?::\s*[\s\S]*)?$/;

/** graphile-worker's log, as the service log shows it: errors and warnings in one line each, connection trouble as the outage line. */
export function workerLogger(log: (line: string) => void, report: { lost(code: string): void }): Logger {
  return new Logger(() => (level: LogLevel, message: string, meta?: { error?: unknown }) => {
    if (level !== 'error' && level !== 'warning') return;
    const failed = FAILED_TASK.exec(message);
    if (failed) {
      const [, id, task, attempt, max, why] = failed;
      const next = Number(attempt) < Number(max) ? 'it will be retried' : 'no attempts left';
      log(`job ${id} (${task}) failed, attempt ${attempt} of ${max} (${next}): ${oneLine(why ?? '')}`);
      return;
    }
    const error = meta?.error;
    if (CONNECTION_CHATTER.test(message) || (error !== undefined && isConnectionLevel(error))) {
      report.lost(errorCode(error) ?? 'connection closed');
      return;
    }
    // What went wrong is one line (no stack: the run records hold the details).
    log(`worker ${level}: ${oneLine(message.split('\n')[0] ?? message)}`);
  });
}

/**
 * The task files, each given an abort signal whose reason says why it fired
 * (graphile-worker's own has none: "AbortError: This operation was aborted").
 */
async function tasksWithReasons(
  logger: Logger,
  reason: () => string,
): Promise<{ taskList: TaskList; release: () => void | Promise<void> }> {
  const watched = await getTasks({ logger }, TASK_DIRECTORY);
  const taskList: TaskList = {};
  for (const [name, task] of Object.entries(watched.tasks)) {
    if (!task) continue;
    const wrapped: Task = async (payload, helpers) => {
      const outer = helpers.abortSignal;
      if (!outer) return task(payload, helpers);
      const controller = new AbortController();
      const onAbort = () => controller.abort(reason());
      if (outer.aborted) onAbort();
      else outer.addEventListener('abort', onAbort, { once: true });
      try {
        return await task(payload, { ...helpers, abortSignal: controller.signal });
      } finally {
        outer.removeEventListener('abort', onAbort);
      }
    };
    taskList[name] = wrapped;
  }
  return { taskList, release: () => watched.release() };
}

export async function startWorker(s: WorkerStart): Promise<RunningWorker> {
  setWorkerContext({ pool: s.pool, config: s.config, mapping: s.mapping, engine: s.engine, log: s.log });
  const report = new ConnectionReport(s.log);
  const liveness = new WorkerLiveness(s.url, {
    lost: (code) => report.lost(code),
    restored: (ms) => report.restored(ms),
    log: s.log,
  });
  await liveness.start();
  const dead = await recoverDeadWorkers(s.pool);
  if (dead.length > 0) s.log(`unlocked the jobs of ${dead.length} dead worker(s): ${dead.join(', ')}`);

  // Why running jobs are aborted: set by stop(), or by graphile-worker stopping on its own (a fatal error).
  let abortReason: string | null = null;
  // graphile-worker locks jobs in the name of the worker pool (locked_by = the pool's id): that is what lives or dies.
  const events = new EventEmitter() as WorkerEvents;
  events.on('pool:create', ({ workerPool }) => {
    void liveness.register(workerPool.id);
  });
  events.on('pool:release', ({ workerPool }) => {
    void liveness.unregister(workerPool.id);
  });
  events.on('pool:fatalError', ({ error }) => {
    abortReason ??= stopReason(error);
  });
  const logger = workerLogger(s.log, report);
  const unpatched = await retryLostConnections();
  if (unpatched) s.log(`${unpatched}: a connection lost just as a job ends may stop this worker`);
  const tasks = await tasksWithReasons(logger, () => abortReason ?? 'the worker is stopping');
  let runner;
  try {
    runner = await run({
      pgPool: s.pool,
      taskList: tasks.taskList,
      crontab: crontabFor(s.config),
      concurrency: s.config.workerConcurrency,
      noHandleSignals: true,
      pollInterval: 2000,
      events,
      logger,
      gracefulShutdownAbortTimeout: s.graceMs ?? 5000,
    });
  } catch (err) {
    await tasks.release();
    await liveness.close();
    setWorkerContext(null);
    throw err;
  }
  const started = runner;
  let stopping: Promise<void> | null = null;
  const stop = (reason?: string) =>
    (stopping ??= (async () => {
      abortReason ??= reason ?? 'the worker is stopping';
      try {
        await started.stop();
      } finally {
        await tasks.release();
        await liveness.close();
        setWorkerContext(null);
      }
    })());
  return { stop, promise: runner.promise };
}
