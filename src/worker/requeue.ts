/**
 * Giving a job back without spending one of its attempts. graphile-worker
 * counts an attempt when it takes a job, so a job that fails because the
 * sync lock was held, or because the worker is stopping, would use up its
 * few attempts (max=3) for nothing, and a long command-line sync at a tick
 * would drop the tick's sync. Instead the task adds the same job again (same
 * task, payload, queue and job key, now or later) and ends normally: adding a
 * job whose key belongs to a running job creates a fresh one beside it (the
 * running one loses its key), so requests made meanwhile still coalesce into it.
 */
import type { JobHelpers } from 'graphile-worker';

/** Adds the running job again, to run at `runAt`, with its attempts whole. */
export type Requeue = (runAt: Date) => Promise<void>;

export function requeueOf(helpers: JobHelpers, queueName?: string): Requeue {
  const job = helpers.job;
  return async (runAt) => {
    await helpers.addJob(job.task_identifier, job.payload, {
      ...(queueName ? { queueName } : {}),
      runAt,
      maxAttempts: job.max_attempts,
      ...(job.key ? { jobKey: job.key } : {}),
    });
  };
}
