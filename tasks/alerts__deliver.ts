/**
 * alerts__deliver: a delivery round, POSTing every undelivered alert to
 * ALERT_WEBHOOK_URL, oldest first. Enqueued by the database as an alert is
 * inserted (trigger sync_alerts_deliver, job key alerts__deliver: requests
 * coalesce into one round). A round the receiver fails ends there, says so in
 * one line and adds itself again after a backoff capped at a minute (its
 * attempts whole). Not in the buyer_sync queue: an alert never waits behind a
 * sync. (Jobs queued by 0.9 carry an alert_id: they run a round too.)
 */
import { deliveryRoundJob } from '../src/worker/jobs.ts';
import { checkedTask, plainPayload } from '../src/worker/payloads.ts';
import { requeueOf } from '../src/worker/requeue.ts';

const task = checkedTask(plainPayload('alerts__deliver'), (_payload, helpers) => deliveryRoundJob(requeueOf(helpers)));

export default task;
