/**
 * retry_queue__process: a retry round, the retry-queue entries due now
 * (every minute by the crontab, or `select buyer_sync.request_retry_round()`).
 */
import type { Task } from 'graphile-worker';
import { retryRound } from '../src/worker/jobs.ts';
import { requeueOf } from '../src/worker/requeue.ts';
import { assertPlainPayload, PoisonPayload } from '../src/worker/payloads.ts';

const task: Task = async (payload, helpers) => {
  try {
    assertPlainPayload('retry_queue__process', payload);
  } catch (err) {
    if (err instanceof PoisonPayload) return helpers.logger.error(err.message);
    throw err;
  }
  await retryRound(helpers.abortSignal, requeueOf(helpers, 'buyer_sync'));
};

export default task;
