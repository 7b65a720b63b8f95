/**
 * alerts__deliver: POSTs one alert to ALERT_WEBHOOK_URL. Enqueued by the
 * database as the alert is inserted (trigger sync_alerts_deliver, job key
 * alerts__deliver:<id>); a receiver that fails fails the job, and
 * graphile-worker tries again with its backoff (25 attempts over about three
 * days). Not in the buyer_sync queue: an alert never waits behind a sync.
 */
import type { Task } from 'graphile-worker';
import { deliverAlertJob } from '../src/worker/jobs.ts';
import { alertIdOf, PoisonPayload } from '../src/worker/payloads.ts';

const task: Task = async (payload, helpers) => {
  let alertId: string;
  try {
    alertId = alertIdOf('alerts__deliver', payload);
  } catch (err) {
    if (err instanceof PoisonPayload) return helpers.logger.error(err.message);
    throw err;
  }
  await deliverAlertJob(alertId);
};

export default task;
