/**
 * history__prune: deletes history older than buyer_sync.retention says (runs
 * and their error log, skipped runs, verification details and reports,
 * health checks, closed retry entries, resolved alerts, failed jobs), in
 * bounded rounds, once a day by the crontab. Not in the buyer_sync queue: a
 * prune never waits behind a sync, and each round is short enough not to
 * hold one up.
 */
import { checkedTask, plainPayload } from '../src/worker/payloads.ts';
import { pruneHistoryJob } from '../src/worker/retention.ts';

const task = checkedTask(plainPayload('history__prune'), (_payload, helpers) => pruneHistoryJob(helpers.abortSignal));

export default task;
