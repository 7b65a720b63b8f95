/**
 * Alert delivery: the alerts recorded in sync_alerts and not delivered yet
 * are POSTed to ALERT_WEBHOOK_URL as JSON `{type, severity, message,
 * details, text}` (`text` makes it a Slack incoming-webhook message too), and
 * marked delivered_at when the receiver accepts them (2xx).
 *
 * Delivery claims each alert row (`for update skip locked`) for the time of
 * its POST, so that several workers and a command delivering at once never
 * send one alert twice; an alert whose POST fails stays undelivered for the
 * next attempt. Alerts never carry a cell value: messages and details hold
 * buyer numbers, counts and rules only.
 */
import type pg from 'pg';

export interface DeliveryResult {
  delivered: number;
  /** Alerts the receiver refused or did not answer for (they stay undelivered). */
  failed: number;
  /** Alerts pending and not delivered because no ALERT_WEBHOOK_URL is set. */
  recordedOnly: number;
}

interface AlertRow {
  id: string;
  type: string;
  severity: string;
  message: string;
  details: Record<string, unknown>;
  created_at: Date;
}

/** The body of one alert's POST. */
export function alertBody(a: Pick<AlertRow, 'type' | 'severity' | 'message' | 'details'>) {
  return { type: a.type, severity: a.severity, message: a.message, details: a.details, text: `[${a.severity}] ${a.type}: ${a.message}` };
}

async function post(url: string, body: unknown, timeoutMs: number): Promise<string | null> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
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

/**
 * Delivers every undelivered alert (oldest first), one claim and one POST at
 * a time. With no webhook configured, only counts what is waiting.
 */
export async function deliverAlerts(
  pool: pg.Pool,
  webhookUrl: string | null,
  options: { log?: (line: string) => void; timeoutMs?: number; limit?: number } = {},
): Promise<DeliveryResult> {
  const result: DeliveryResult = { delivered: 0, failed: 0, recordedOnly: 0 };
  if (webhookUrl === null) {
    const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from public.sync_alerts where delivered_at is null`);
    result.recordedOnly = rows[0]?.n ?? 0;
    return result;
  }
  const tried = new Set<string>();
  for (let i = 0; i < (options.limit ?? 100); i++) {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<AlertRow>(
        `select id, type, severity, message, details, created_at from public.sync_alerts
          where delivered_at is null and not (id = any($1::uuid[]))
          order by created_at, id
          limit 1
          for update skip locked`,
        [[...tried]],
      );
      const alert = rows[0];
      if (!alert) {
        await client.query('commit');
        break;
      }
      tried.add(alert.id);
      const failure = await post(webhookUrl, alertBody(alert), options.timeoutMs ?? 10_000);
      if (failure === null) {
        await client.query(`update public.sync_alerts set delivered_at = now() where id = $1`, [alert.id]);
        result.delivered++;
      } else {
        result.failed++;
        options.log?.(`alert ${alert.type} (${alert.id}) not delivered to ALERT_WEBHOOK_URL: ${failure}; it stays pending`);
      }
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
  return result;
}
