/**
 * buyers__sync: a full sync of the configured sheet. Scheduled by the
 * crontab (every 15 minutes unless SYNC_CRON says otherwise) and requested
 * by `select buyer_sync.request_sync()` (the dashboard's "Sync now"). Runs in
 * the queue buyer_sync: one sync at a time. A scheduled one (its payload has
 * the crontab's `_cron`) skips reading a Google sheet that has not changed
 * (src/sync/unchanged.ts); a requested one always reads.
 */
import { fullSync } from '../src/worker/jobs.ts';
import { requeueOf } from '../src/worker/requeue.ts';
import { checkedTask, plainPayload } from '../src/worker/payloads.ts';

const task = checkedTask(plainPayload('buyers__sync'), (payload, helpers) =>
  fullSync(helpers.abortSignal, { scheduled: '_cron' in payload, requeue: requeueOf(helpers, 'buyer_sync') }),
);

export default task;
