/**
 * retry_queue__process: a retry round, the retry-queue entries due now
 * (every minute by the crontab, or `select buyer_sync.request_retry_round()`).
 */
import { retryRound } from '../src/worker/jobs.ts';
import { requeueOf } from '../src/worker/requeue.ts';
import { checkedTask, plainPayload } from '../src/worker/payloads.ts';

const task = checkedTask(plainPayload('retry_queue__process'), (_payload, helpers) =>
  retryRound(helpers.abortSignal, requeueOf(helpers, 'buyer_sync')),
);

export default task;
