/**
 * The payloads of the worker's tasks, checked at the edge: a payload is
 * `unknown` until one of these says what it is. Jobs stay in the queue across
 * deployments, so fields are only ever added, and optional.
 */
import type { JobHelpers, Task } from 'graphile-worker';

/** A payload that is not what its task takes: logged and dropped, never retried (it would never get better). */
export class PoisonPayload extends Error {
  constructor(task: string, why: string) {
    super(`${task}: ${why}; the job is dropped`);
    this.name = 'PoisonPayload';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** buyers__sync and retry_queue__process: an object (a crontab job adds `_cron`); nothing else is read. */
export function assertPlainPayload(task: string, payload: unknown): asserts payload is Record<string, unknown> {
  if (payload !== null && payload !== undefined && !isObject(payload))
    throw new PoisonPayload(task, 'the payload must be a JSON object');
}

/** The check of a task that takes a plain object (or nothing): `assertPlainPayload` as a parser. */
export const plainPayload =
  (task: string) =>
  (payload: unknown): Record<string, unknown> => {
    assertPlainPayload(task, payload);
    return payload ?? {};
  };

/**
 * A task file's task: `parse` checks the payload at the edge; a poison one
 * is logged and the job dropped (never retried: it would never get better);
 * anything else `run` does with what `parse` made of it.
 */
export function checkedTask<P>(
  parse: (payload: unknown) => P,
  run: (parsed: P, helpers: JobHelpers) => Promise<unknown>,
): Task {
  return async (payload, helpers) => {
    let parsed: P;
    try {
      parsed = parse(payload);
    } catch (err) {
      if (err instanceof PoisonPayload) return helpers.logger.error(err.message);
      throw err;
    }
    await run(parsed, helpers);
  };
}

export interface BuyerSyncRequest {
  buyer_numbers: string[];
}

/**
 * buyers__sync_numbers: an array of requests `{buyer_numbers: [...]}` (the
 * SQL function buyer_sync.request_buyer_sync makes them; graphile-worker
 * concatenates the arrays of requests made while the job waits). Returns the
 * distinct buyer numbers asked for.
 */
export function buyerNumbersOf(task: string, payload: unknown): string[] {
  const requests = Array.isArray(payload) ? payload : [payload];
  const numbers = new Set<string>();
  for (const r of requests) {
    if (!isObject(r) || !Array.isArray(r.buyer_numbers))
      throw new PoisonPayload(task, 'each request must be an object with a buyer_numbers array');
    for (const b of r.buyer_numbers) {
      if (typeof b !== 'string') throw new PoisonPayload(task, 'buyer numbers must be strings');
      if (b.trim() !== '') numbers.add(b.trim());
    }
  }
  if (numbers.size === 0) throw new PoisonPayload(task, 'no buyer numbers were asked for');
  return [...numbers];
}
