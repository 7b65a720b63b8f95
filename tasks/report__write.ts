/**
 * report__write: writes the sync report tab (SHEET_REPORT_TAB) of the buyers
 * spreadsheet. Enqueued by the database when a full, retry or --only run
 * finishes (migration 068, job key report__write: requests coalesce), in its
 * own queue so a slow or refused write never holds a sync. A failed write
 * goes back to the queue for later, its attempts whole.
 */
import { checkedTask, plainPayload } from '../src/worker/payloads.ts';
import { reportWriteJob } from '../src/worker/report-job.ts';
import { requeueOf } from '../src/worker/requeue.ts';

const task = checkedTask(plainPayload('report__write'), (_payload, helpers) =>
  reportWriteJob(requeueOf(helpers, 'buyer_sync_report')),
);

export default task;
