/**
 * A connection blip must not end a live worker. graphile-worker records a
 * finished job (complete_jobs) on a pool connection, retrying only the error
 * codes of its RETRYABLE_ERROR_CODES table (serialization failures, deadlocks,
 * "cannot connect now", unreachable hosts), and does not await that promise:
 * when an administrator or a failover terminates the pool's connections just
 * as a job ends, the statement fails with 57P01 on a connection the pool
 * still held as idle, the rejection is unhandled, and the process exits.
 *
 * A connection the server terminated (57P01, 57P02) or lost (08003, 08006,
 * ECONNRESET) never ran or never committed the statement, so trying it again
 * on a fresh connection is safe, as it is for the codes graphile-worker
 * already retries; its statements are single autocommit statements. This adds
 * those codes to that table. The table is not part of graphile-worker's public
 * exports, so it is reached by its file beside the package's entry; if a
 * release moves it, the worker runs as before and says so once.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

type Backoff = { minDelay: number; maxDelay: number };

/** The connection-loss codes a retry on a fresh connection is safe for, with graphile-worker's own backoff for "cannot connect now". */
export const CONNECTION_LOST_CODES: Record<string, Backoff> = {
  '57P01': { minDelay: 200, maxDelay: 30_000 }, // admin_shutdown: the backend was terminated
  '57P02': { minDelay: 200, maxDelay: 30_000 }, // crash_shutdown
  '08003': { minDelay: 200, maxDelay: 30_000 }, // connection_does_not_exist
  '08006': { minDelay: 200, maxDelay: 30_000 }, // connection_failure
  ECONNRESET: { minDelay: 200, maxDelay: 30_000 },
};

/** Adds the connection-loss codes to graphile-worker's retryable codes; returns why not when it cannot. */
export async function retryLostConnections(): Promise<string | null> {
  try {
    const entry = createRequire(import.meta.url).resolve('graphile-worker');
    const lib = (await import(pathToFileURL(path.join(path.dirname(entry), 'lib.js')).href)) as {
      RETRYABLE_ERROR_CODES?: Record<string, Backoff>;
    };
    const table = lib.RETRYABLE_ERROR_CODES;
    if (!table || typeof table !== 'object') return "graphile-worker's retryable error codes were not found";
    for (const [code, backoff] of Object.entries(CONNECTION_LOST_CODES)) table[code] ??= backoff;
    return null;
  } catch (err) {
    return `graphile-worker's retryable error codes could not be read (${(err as Error).message})`;
  }
}
