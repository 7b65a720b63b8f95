/**
 * Alert delivery: an alert recorded in sync_alerts is POSTed to
 * ALERT_WEBHOOK_URL as JSON `{type, severity, message, details, text}`
 * (`text` makes it a Slack incoming-webhook message too) and marked
 * delivered_at when the receiver accepts it (2xx).
 *
 * Two paths deliver, and they may race:
 * - the worker's alerts__deliver job, a delivery round over every
 *   undelivered alert, enqueued by a trigger as an alert is inserted (one job:
 *   requests coalesce); a round the receiver fails ends at once and the next
 *   one is scheduled with a backoff capped at a minute (5 s, 10 s, 20 s, 40 s,
 *   then every minute), so an outage costs one POST a round and deliveries
 *   resume within a minute of the receiver coming back;
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
import {
  lockAlert,
  recordDeliveryAttempt,
  setTransactionLockTimeout,
  undeliveredAlertCount,
  undeliveredAlertIds,
  undeliveredAlertIdsSince,
  type AlertRow,
} from './sql.ts';

export { databaseNow } from './sql.ts';

export interface DeliveryResult {
  delivered: number;
  /** Alerts the receiver refused or did not answer for (they stay undelivered; the worker retries them). */
  failed: number;
  /** Alerts not delivered because no ALERT_WEBHOOK_URL is set. */
  recordedOnly: number;
}

/** The body of one alert's POST (the alert as lockAlert reads it: redacted as the API shows it). */
export function alertBody(a: Pick<AlertRow, 'type' | 'severity' | 'message' | 'details'>) {
  return {
    type: a.type,
    severity: a.severity,
    message: a.message,
    details: a.details,
    text: `[${a.severity}] ${a.type}: ${a.message}`,
  };
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
    const e = err as {
      name?: string;
      message?: string;
      cause?: { code?: string; message?: string; errors?: { code?: string }[] };
    };
    if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
    return e.cause?.code ?? e.cause?.errors?.[0]?.code ?? e.cause?.message ?? e.message ?? String(err);
  }
}

/** POSTs a locked, undelivered alert and records the outcome in the same transaction; null when delivered, else why not. */
async function attempt(client: pg.ClientBase, alert: AlertRow, url: string, timeoutMs: number): Promise<string | null> {
  const failure = await post(url, alert.id, alertBody(alert), timeoutMs);
  await recordDeliveryAttempt(client, alert.id, failure);
  return failure;
}

/** What one POST of a locked alert came to: delivered, nothing to do (gone, or delivered meanwhile), or why it failed. */
type Sent = { delivered: true } | { skipped: true } | { failure: string; alert: AlertRow };

/**
 * Delivers one alert by id, holding its row lock while it POSTs (a concurrent
 * deliverer waits, then finds it delivered and sends nothing).
 */
async function deliverOne(pool: pg.Pool, id: string, url: string, timeoutMs: number): Promise<Sent> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await setTransactionLockTimeout(client, timeoutMs + 5000);
    const alert = await lockAlert(client, id);
    if (!alert || alert.delivered_at !== null) {
      await client.query('commit');
      return { skipped: true };
    }
    const failure = await attempt(client, alert, url, timeoutMs);
    await client.query('commit');
    return failure === null
      ? { delivered: true }
      : { failure, alert: { ...alert, delivery_attempts: alert.delivery_attempts + 1 } };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export interface RoundResult {
  delivered: number;
  /** Undelivered alerts left when the round ended (0: all delivered). */
  left: number;
  /** Why the receiver failed, and how many POSTs of that alert it has failed so far; null when nothing failed. */
  failure: { why: string; attempts: number } | null;
}

/**
 * One delivery round (the worker's alerts__deliver job): every undelivered
 * alert, oldest first, at most `limit`, until the receiver fails once (a
 * receiver that is down is asked once per round, not once per alert). The
 * worker schedules the next round after a failed one with a backoff capped at
 * a minute (jobs.ts), so deliveries resume within a minute of the receiver
 * coming back, in the order the alerts were raised.
 */
export async function deliveryRound(
  pool: pg.Pool,
  webhookUrl: string | null,
  options: { timeoutMs?: number; limit?: number } = {},
): Promise<RoundResult> {
  if (webhookUrl === null) return { delivered: 0, left: 0, failure: null };
  const limit = options.limit ?? 500;
  const pending = await undeliveredAlertIds(pool, limit + 1);
  let delivered = 0;
  let i = 0;
  for (; i < Math.min(pending.length, limit); i++) {
    const sent = await deliverOne(pool, pending[i]!, webhookUrl, options.timeoutMs ?? 10_000);
    if ('failure' in sent) {
      const left = await undeliveredAlertCount(pool);
      return { delivered, left, failure: { why: sent.failure, attempts: sent.alert.delivery_attempts } };
    }
    if ('delivered' in sent) delivered++;
  }
  const more = pending.length > limit ? await undeliveredAlertCount(pool) : 0;
  return { delivered, left: more, failure: null };
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
  const pending = await undeliveredAlertIdsSince(pool, since);
  if (webhookUrl === null) {
    result.recordedOnly = pending.length;
    return result;
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  const limit = options.limit ?? 100;
  let tried = 0;
  for (const id of pending) {
    if (tried >= limit || result.failed > 0) {
      const left = pending.length - tried;
      options.log?.(`${left} more alert(s) left to the worker (buyer-sync serve) to deliver`);
      break;
    }
    tried++;
    const sent = await deliverOne(pool, id, webhookUrl, timeoutMs);
    if ('delivered' in sent) result.delivered++;
    else if ('failure' in sent) {
      result.failed++;
      options.log?.(
        `alert ${sent.alert.type} (${sent.alert.id}) not delivered to ALERT_WEBHOOK_URL: ${sent.failure}; the worker (buyer-sync serve) tries again`,
      );
    }
  }
  return result;
}
