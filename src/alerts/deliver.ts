/**
 * Alert delivery: an alert recorded in sync_alerts is POSTed to
 * ALERT_WEBHOOK_URL as JSON `{type, severity, message, details, text}`
 * (`text` makes it a Slack incoming-webhook message too) and marked
 * delivered_at when the receiver accepts it (2xx).
 *
 * Two paths deliver, and they may race:
 * - the worker's alerts__deliver job, one per alert, enqueued by a trigger
 *   as the alert is inserted; a failed POST fails the job, and
 *   graphile-worker retries it with its backoff (seconds, then minutes, then
 *   hours; 25 attempts);
 * - a command that raised alerts delivers them before it exits (contract.md:
 *   cron-driven use without `serve` still alerts).
 * Each POST happens while its alert row is locked, and only while
 * delivered_at is null, so an alert is sent by one of them at a time and
 * marked delivered once. (A receiver that accepted a POST whose commit then
 * failed gets it again, with the same Idempotency-Key header: at least once,
 * never silently dropped.)
 *
 * Alerts never carry a cell value: messages and details hold buyer numbers,
 * counts and rules only (built by the database, see 057_monitoring.sql).
 */
import type pg from 'pg';

export interface DeliveryResult {
  delivered: number;
  /** Alerts the receiver refused or did not answer for (they stay undelivered; the worker retries them). */
  failed: number;
  /** Alerts not delivered because no ALERT_WEBHOOK_URL is set. */
  recordedOnly: number;
}

interface AlertRow {
  id: string;
  type: string;
  severity: string;
  message: string;
  details: Record<string, unknown>;
  resolves: string | null;
  delivered_at: Date | null;
}

/** The body of one alert's POST. */
export function alertBody(a: Pick<AlertRow, 'type' | 'severity' | 'message' | 'details'>) {
  return { type: a.type, severity: a.severity, message: a.message, details: a.details, text: `[${a.severity}] ${a.type}: ${a.message}` };
}

/**
 * POSTs one alert; null when the receiver accepted it, else why not. The
 * alert's id goes along as the Idempotency-Key header, so a receiver can drop
 * the rare second delivery (a POST accepted just before its commit failed).
 */
async function post(url: string, id: string, body: unknown, timeoutMs: number): Promise<string | null> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': id, 'user-agent': 'buyer-sync' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? null : `HTTP ${res.status}`;
  } catch (err) {
    // fetch says "fetch failed"; the reason is in its cause (ECONNREFUSED, ENOTFOUND…), sometimes one level further down.
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; errors?: { code?: string }[] } };
    if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
    return e.cause?.code ?? e.cause?.errors?.[0]?.code ?? e.cause?.message ?? e.message ?? String(err);
  }
}

const COLUMNS = 'id, type, severity, message, details, resolves, delivered_at';

/** POSTs a locked, undelivered alert and records the outcome in the same transaction; null when delivered, else why not. */
async function attempt(client: pg.ClientBase, alert: AlertRow, url: string, timeoutMs: number): Promise<string | null> {
  const failure = await post(url, alert.id, alertBody(alert), timeoutMs);
  await client.query(
    `update public.sync_alerts
        set delivered_at = case when $2::text is null then now() end,
            delivery_attempts = delivery_attempts + 1,
            delivery_error = $2
      where id = $1`,
    [alert.id, failure],
  );
  return failure;
}

/** Raised by deliverAlert when the receiver failed: the worker job fails and is retried. */
export class DeliveryFailed extends Error {
  constructor(alertId: string, why: string) {
    super(`alert ${alertId} not delivered to ALERT_WEBHOOK_URL: ${why}; it will be tried again`);
    this.name = 'DeliveryFailed';
  }
}

export type DeliveryOutcome = 'delivered' | 'already_delivered' | 'no_such_alert' | 'no_webhook';

/**
 * Delivers one alert (the worker's job). Waits for another deliverer holding
 * the alert (a command POSTing it) and then does nothing if that one
 * succeeded. Throws DeliveryFailed when the receiver fails.
 */
export async function deliverAlert(pool: pg.Pool, webhookUrl: string | null, alertId: string, options: { timeoutMs?: number } = {}): Promise<DeliveryOutcome> {
  if (webhookUrl === null) return 'no_webhook';
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`set local lock_timeout = '60s'`);
    const { rows } = await client.query<AlertRow>(`select ${COLUMNS} from public.sync_alerts where id = $1 for update`, [alertId]);
    const alert = rows[0];
    if (!alert || alert.delivered_at !== null) {
      await client.query('commit');
      return alert ? 'already_delivered' : 'no_such_alert';
    }
    const failure = await attempt(client, alert, webhookUrl, options.timeoutMs ?? 10_000);
    await client.query('commit');
    if (failure !== null) throw new DeliveryFailed(alertId, failure);
    return 'delivered';
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Delivers the undelivered alerts raised since `since` (the database's clock
 * when the command started), oldest first: what a command does before it
 * exits. An alert the worker is POSTing right now is waited for (at most a
 * POST's timeout): if the worker delivered it, nothing more is sent; if the
 * receiver failed it, the command tries too, and says so when it fails. The
 * first failure ends the command's part (a dead receiver never holds a cron
 * slot for long): the rest is left to the worker's jobs, and said. With no
 * webhook configured, only counts them.
 */
export async function deliverRaisedSince(
  pool: pg.Pool,
  webhookUrl: string | null,
  since: Date,
  options: { log?: (line: string) => void; timeoutMs?: number; limit?: number } = {},
): Promise<DeliveryResult> {
  const result: DeliveryResult = { delivered: 0, failed: 0, recordedOnly: 0 };
  const { rows: pending } = await pool.query<{ id: string }>(
    `select id from public.sync_alerts where delivered_at is null and created_at >= $1 order by created_at, id`,
    [since],
  );
  if (webhookUrl === null) {
    result.recordedOnly = pending.length;
    return result;
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  const limit = options.limit ?? 100;
  let tried = 0;
  for (const { id } of pending) {
    if (tried >= limit || result.failed > 0) {
      const left = pending.length - tried;
      options.log?.(`${left} more alert(s) left to the worker (buyer-sync serve) to deliver`);
      break;
    }
    tried++;
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query(`select set_config('lock_timeout', $1, true)`, [`${timeoutMs + 5000}ms`]);
      const { rows } = await client.query<AlertRow>(`select ${COLUMNS} from public.sync_alerts where id = $1 for update`, [id]);
      const alert = rows[0];
      if (!alert || alert.delivered_at !== null) {
        await client.query('commit');
        continue;
      }
      const failure = await attempt(client, alert, webhookUrl, timeoutMs);
      await client.query('commit');
      if (failure === null) result.delivered++;
      else {
        result.failed++;
        options.log?.(`alert ${alert.type} (${alert.id}) not delivered to ALERT_WEBHOOK_URL: ${failure}; the worker (buyer-sync serve) tries again`);
      }
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
  return result;
}

/** The database's clock now: where a command's "alerts raised since" starts. */
export async function databaseNow(pool: pg.Pool): Promise<Date> {
  const { rows } = await pool.query<{ now: Date }>('select clock_timestamp() as now');
  return rows[0]!.now;
}
