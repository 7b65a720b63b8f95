/**
 * health__check: one health check (Data Flow 5), every 5 minutes by the
 * crontab: reads the sheet's buyer numbers, evaluates the thresholds in
 * buyer_sync.alert_thresholds, writes a sync_health_metrics row, and raises
 * or resolves alerts (delivered by their own jobs). Not in the buyer_sync
 * queue: a stuck sync is what a health check must still see.
 */
import { healthCheck } from '../src/worker/jobs.ts';
import { checkedTask, plainPayload } from '../src/worker/payloads.ts';

const task = checkedTask(plainPayload('health__check'), (_payload, helpers) => healthCheck(helpers.abortSignal));

export default task;
