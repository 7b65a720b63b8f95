/**
 * buyers__sync_numbers: syncs given buyer numbers from the configured sheet
 * (the recovery for missing buyers). Requested by
 * `select buyer_sync.request_buyer_sync(array['000123', ...])`; requests made
 * while the job waits are merged into it.
 */
import { syncNumbers } from '../src/worker/jobs.ts';
import { requeueOf } from '../src/worker/requeue.ts';
import { buyerNumbersOf, checkedTask } from '../src/worker/payloads.ts';

const task = checkedTask(
  (payload) => buyerNumbersOf('buyers__sync_numbers', payload),
  (numbers, helpers) => syncNumbers(numbers, helpers.abortSignal, requeueOf(helpers, 'buyer_sync')),
);

export default task;
