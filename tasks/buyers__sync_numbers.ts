/**
 * buyers__sync_numbers: syncs given buyer numbers from the configured sheet
 * (the recovery for missing buyers). Requested by
 * `select buyer_sync.request_buyer_sync(array['000123', ...])`; requests made
 * while the job waits are merged into it.
 */
import type { Task } from 'graphile-worker';
import { syncNumbers } from '../src/worker/jobs.ts';
import { requeueOf } from '../src/worker/requeue.ts';
import { buyerNumbersOf, PoisonPayload } from '../src/worker/payloads.ts';

const task: Task = async (payload, helpers) => {
  let numbers: string[];
  try {
    numbers = buyerNumbersOf('buyers__sync_numbers', payload);
  } catch (err) {
    if (err instanceof PoisonPayload) return helpers.logger.error(err.message);
    throw err;
  }
  await syncNumbers(numbers, helpers.abortSignal, requeueOf(helpers, 'buyer_sync'));
};

export default task;
