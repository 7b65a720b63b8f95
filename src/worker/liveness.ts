/**
 * Knowing which workers are alive, so that the jobs of a dead one are taken
 * up at once. graphile-worker locks a job to the worker running it and, if
 * that worker vanishes (SIGKILL, a lost machine), leaves the job locked for 4
 * hours. (graphile-worker locks a job in the name of the worker pool, one per
 * process: "worker" below is that pool.)
 *
 * Every worker `serve` starts is registered (buyer_sync_private.workers) and,
 * on a connection of its own process (the liveness connection), holds a
 * session advisory lock and refreshes a heartbeat (workers.last_seen_at)
 * every few seconds (worker_liveness.heartbeat_every). A worker is dead only
 * when both are gone: its lock is not held AND its heartbeat is older than
 * worker_liveness.dead_after (60 s; migration 063, buyer_sync.dead_workers).
 * A connection blip drops the lock of a live process for a moment, but not
 * its heartbeat: the liveness connection reconnects with backoff, takes its
 * locks again and re-registers (a registration removed meanwhile is
 * inserted again). Only then are a dead worker's jobs unlocked
 * (graphile_worker.force_unlock_workers) and run again by a live worker.
 * Workers not started by `serve` are never touched.
 */
import os from 'node:os';
import pg from 'pg';
import { errorCode } from '../sync/error-types.ts';
import { heartbeatEveryMs, heartbeatWorkers, releaseWorkerLock, tryWorkerLock, unregisterWorker } from './sql.ts';

export { recoverDeadWorkers } from './sql.ts';

/** Reconnect backoff: from this, doubling, up to the heartbeat interval. */
const FIRST_RETRY_MS = 100;

export interface LivenessHooks {
  /** The liveness connection was lost (or could not be opened); `code` is the SQLSTATE or socket error code. */
  lost?(code: string): void;
  /** It is back, its locks taken again, after `downMs`. */
  restored?(downMs: number): void;
  /** One line for the service log. */
  log?(line: string): void;
}

export class WorkerLiveness {
  private client: pg.Client | null = null;
  /** The workers this process registered and has not unregistered. */
  private readonly wanted = new Set<string>();
  /** Of those, the ones whose lock the current connection holds. */
  private readonly locked = new Set<string>();
  /** Of those, the ones whose row this process inserted at least once. */
  private readonly inserted = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private heartbeatMs = 5000;
  private failures = 0;
  private downSince: number | null = null;
  private closed = false;

  private readonly url: string;
  private readonly hooks: LivenessHooks;

  constructor(url: string, hooks: LivenessHooks = {}) {
    this.url = url;
    this.hooks = hooks;
  }

  /** Opens the liveness connection (failing if the database cannot be reached) and starts the heartbeat. */
  async start(): Promise<void> {
    await this.serial(() => this.connect());
    this.schedule(this.heartbeatMs);
  }

  /** The heartbeat interval in force (worker_liveness.heartbeat_every). */
  get heartbeatIntervalMs(): number {
    return this.heartbeatMs;
  }

  /**
   * Takes the worker's lock, then registers it, at once if the connection is
   * up (otherwise as soon as it is back). Never rejects.
   */
  register(workerId: string): Promise<void> {
    this.wanted.add(workerId);
    return this.beat();
  }

  /** A worker that stopped cleanly leaves the register. */
  unregister(workerId: string): Promise<void> {
    this.wanted.delete(workerId);
    this.inserted.delete(workerId);
    return this.serial(async () => {
      const client = this.client;
      if (!client) return;
      await unregisterWorker(client, workerId);
      if (this.locked.delete(workerId)) await releaseWorkerLock(client, workerId);
    }).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const id of [...this.wanted]) await this.unregister(id);
    await this.queue.catch(() => undefined);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  /** One heartbeat now (reconnecting first if need be); the next one is scheduled. */
  private beat(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return this.serial(async () => {
      if (this.closed) return;
      try {
        if (!this.client) await this.connect();
        await this.heartbeat(this.client!);
        if (this.downSince !== null) this.hooks.restored?.(Date.now() - this.downSince);
        this.downSince = null;
        this.failures = 0;
        this.schedule(this.heartbeatMs);
      } catch (err) {
        this.drop(this.client, err);
        this.failures++;
        this.schedule(
          Math.min(this.heartbeatMs, FIRST_RETRY_MS * 2 ** (this.failures - 1)) * (0.75 + Math.random() / 2),
        );
      }
    });
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.beat(), ms);
    this.timer.unref();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'buyer-sync worker liveness' });
    // Losing this connection releases the locks; the heartbeat keeps the process alive in the others' eyes while it reconnects.
    client.on('error', (err) => this.drop(client, err));
    client.on('end', () => this.drop(client, null));
    try {
      await client.connect();
      const ms = await heartbeatEveryMs(client);
      if (ms !== null && ms > 0) this.heartbeatMs = ms;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    this.locked.clear();
  }

  /** Takes every lock not yet held on this connection, then refreshes (or re-inserts) the registrations. */
  private async heartbeat(client: pg.Client): Promise<void> {
    const ids = [...this.wanted];
    if (ids.length === 0) return;
    for (const id of ids) {
      if (this.locked.has(id)) continue;
      // try: the lock's previous holder (this process's dropped session) may take a moment to go.
      if (await tryWorkerLock(client, id)) this.locked.add(id);
    }
    const rows = await heartbeatWorkers(client, ids, os.hostname(), process.pid);
    for (const r of rows) {
      if (!r.inserted) continue;
      if (this.inserted.has(r.worker_id))
        this.hooks.log?.(`worker ${r.worker_id} registered again (its registration had been removed while it ran)`);
      this.inserted.add(r.worker_id);
    }
  }

  /** Forgets a connection that failed; the first failure of an outage is reported. */
  private drop(client: pg.Client | null, err: unknown): void {
    if (client !== null && this.client !== client) return;
    this.client = null;
    this.locked.clear();
    if (client) void client.end().catch(() => undefined);
    if (this.closed) return;
    if (this.downSince === null) {
      this.downSince = Date.now();
      this.hooks.lost?.(errorCode(err) ?? 'connection closed');
    }
    // Reconnect soon, not at the next heartbeat: the locks are gone until then.
    if (this.failures === 0) this.schedule(FIRST_RETRY_MS);
  }

  /** One query at a time on the one connection. */
  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
