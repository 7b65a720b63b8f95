/**
 * report__write: writes the sync report tab (SHEET_REPORT_TAB) of the buyers
 * spreadsheet. Enqueued by the database when a full, retry or --only run
 * finishes (migration 068, job key report__write: requests coalesce), in its
 * own queue so a slow or refused write never holds a sync. A failed write
 * goes back to the queue for later, its attempts whole.
 */
import type { Task } from 'graphile-worker';
import { assertPlainPayload, PoisonPayload } from '../src/worker/payloads.ts';
import { reportWriteJob } from '../src/worker/report-job.ts';
import { requeueOf } from '../src/worker/requeue.ts';

const task: Task = async (payload, helpers) => {
  try {
    assertPlainPayload('report__write', payload);
  } catch (err) {
    if (err instanceof PoisonPayload) return helpers.logger.error(err.message);
    throw err;
  }
  await reportWriteJob(requeueOf(helpers, 'buyer_sync_report'));
};

export default task;
