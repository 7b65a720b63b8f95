/**
 * Knowing which workers are alive, so that the jobs of a dead one are taken
 * up at once. graphile-worker locks a job to the worker running it and, if
 * that worker vanishes (SIGKILL, a lost machine), leaves the job locked for 4
 * hours. (graphile-worker locks a job in the name of the worker pool, one per
 * process: "worker" below is that pool.) Here every worker `serve` starts is registered
 * (buyer_sync_private.workers) and holds a session advisory lock, on a
 * connection of its process, for as long as it lives; PostgreSQL drops the
 * lock the moment that connection dies. A registered worker without its lock
 * (buyer_sync.dead_workers) is dead for certain, not just slow: its jobs are
 * unlocked (graphile_worker.force_unlock_workers) and run again by a live
 * worker. Workers not started by `serve` are never touched.
 */
import os from 'node:os';
import pg from 'pg';

/** The advisory lock class of worker liveness (migration 056's buyer_sync.dead_workers reads it). */
const LIVENESS_CLASS = 7_340_002;

export class WorkerLiveness {
  private readonly client: pg.Client;
  private readonly held = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(url: string) {
    this.client = new pg.Client({ connectionString: url, application_name: 'buyer-sync worker liveness' });
    // Losing this connection releases the locks: the process then looks dead to the others, and is (see serve).
    this.client.on('error', () => undefined);
  }

  async start(): Promise<void> {
    await this.client.connect();
  }

  /** Takes the worker's lock, then registers it (in that order: a registered worker is never without its lock while alive). */
  register(workerId: string): Promise<void> {
    return this.serial(async () => {
      await this.client.query('select pg_advisory_lock($1, hashtext($2))', [LIVENESS_CLASS, workerId]);
      this.held.add(workerId);
      await this.client.query(
        `insert into buyer_sync_private.workers (worker_id, host, pid) values ($1, $2, $3) on conflict (worker_id) do nothing`,
        [workerId, os.hostname(), process.pid],
      );
    });
  }

  /** A worker that stopped cleanly leaves the register. */
  unregister(workerId: string): Promise<void> {
    return this.serial(async () => {
      await this.client.query(`delete from buyer_sync_private.workers where worker_id = $1`, [workerId]);
      if (this.held.delete(workerId)) await this.client.query('select pg_advisory_unlock($1, hashtext($2))', [LIVENESS_CLASS, workerId]);
    });
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    for (const id of [...this.held]) await this.unregister(id).catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }

  /** One query at a time on the one connection. */
  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/**
 * Unlocks the jobs of registered workers whose process is gone, and forgets
 * those workers. Returns their ids. Safe to run from any number of processes
 * at once (unlocking is idempotent).
 */
export async function recoverDeadWorkers(db: pg.Pool | pg.ClientBase): Promise<string[]> {
  const { rows } = await db.query<{ worker_id: string }>(`select worker_id from buyer_sync.dead_workers`);
  const dead = rows.map((r) => r.worker_id);
  if (dead.length === 0) return [];
  await db.query(`select graphile_worker.force_unlock_workers($1::text[])`, [dead]);
  await db.query(`delete from buyer_sync_private.workers where worker_id = any($1::text[])`, [dead]);
  return dead;
}
