/**
 * One health check (design §5 SyncMonitor.checkHealth, Data Flow 5): the
 * sheet's buyer numbers are read now and become the snapshot the
 * missing-buyer views compare against, then buyer_sync.check_health()
 * evaluates the alert thresholds, writes a sync_health_metrics row and
 * returns the health. Everything it judges is SQL an analyst can run.
 *
 * A sheet that cannot be read does not stop the check: the last snapshot is
 * judged (a stale sync is exactly what a dead sheet leads to) and the read
 * failure is one of the issues. While a sync runs, the snapshot is left to
 * it.
 */
import type pg from 'pg';
import type { Mapping } from '../mapping/mapping.ts';
import { oneLine } from '../printable.ts';
import type { SheetSource } from '../sheet/source.ts';
import { readSheetKeys, type SheetKeys } from '../sync/missing.ts';
import { tryRunLock } from '../sync/sql/runs.ts';
import { replaceSheetSnapshot, snapshotCount } from '../sync/sql/snapshot.ts';
import { lookalikeGroups, lookalikeIssues } from '../verify/lookalikes.ts';
import type { RaisedAlert } from './alerts.ts';

export interface HealthReport {
  healthy: boolean;
  issues: string[];
  missingCount: number;
  /** Percent (0–100) of the last full sync's non-blank rows that failed. */
  errorRate: number;
  lastSyncTime: Date | null;
  retryQueueSize: number;
  extraCount: number;
  spreadsheetCount: number;
  databaseCount: number;
  sheetReadAt: Date | null;
  checkId: string;
  alerts: RaisedAlert[];
  /** Why the sheet was not read now (its last snapshot was judged), or null. */
  sheetUnread: string | null;
}

interface CheckJson {
  healthy: boolean;
  issues: string[];
  missing_count: number;
  error_rate: number | string;
  last_sync_time: string | null;
  retry_queue_size: number;
  extra_count: number;
  spreadsheet_count: number;
  database_count: number;
  sheet_read_at: string | null;
  check_id: string;
  alerts: { id: string; type: string; severity: string; resolved: boolean }[];
}

/** Makes the sheet's buyer numbers the snapshot, unless a sync holds the lock (it writes one itself). */
async function writeSnapshot(pool: pg.Pool, description: string, sheet: SheetKeys): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    if (await tryRunLock(client)) {
      await replaceSheetSnapshot(client, { source: description, ...sheet, runId: null });
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Judges the health from the database as it is (no sheet read). Look-alike
 * buyer numbers in buyers (one buyer written two ways: two rows for one
 * buyer) are an issue each group, so unhealthy while they last.
 */
export async function evaluateHealth(
  db: pg.Pool | pg.ClientBase,
  extraIssues: string[] = [],
): Promise<Omit<HealthReport, 'sheetUnread'>> {
  const issues = [...extraIssues, ...lookalikeIssues(await lookalikeGroups(db))];
  const { rows } = await db.query<{ h: CheckJson }>(`select buyer_sync.check_health($1::text[]) as h`, [issues]);
  const h = rows[0]!.h;
  const messages = new Map<string, string>();
  if (h.alerts.length > 0) {
    const { rows: m } = await db.query<{ id: string; message: string }>(
      `select id, message from public.sync_alerts where id = any($1::uuid[])`,
      [h.alerts.map((a) => a.id)],
    );
    for (const r of m) messages.set(r.id, r.message);
  }
  return {
    healthy: h.healthy,
    issues: h.issues,
    missingCount: h.missing_count,
    errorRate: Number(h.error_rate),
    lastSyncTime: h.last_sync_time === null ? null : new Date(h.last_sync_time),
    retryQueueSize: h.retry_queue_size,
    extraCount: h.extra_count,
    spreadsheetCount: h.spreadsheet_count,
    databaseCount: h.database_count,
    sheetReadAt: h.sheet_read_at === null ? null : new Date(h.sheet_read_at),
    checkId: h.check_id,
    alerts: h.alerts.map((a) => ({ ...a, message: messages.get(a.id) ?? '' })),
  };
}

/** A health check: read the sheet (when it can be read), then judge. */
export async function checkHealth(
  pool: pg.Pool,
  a: { source: SheetSource; mapping: Mapping; signal?: AbortSignal },
): Promise<HealthReport> {
  let sheet: SheetKeys | null = null;
  let sheetUnread: string | null = null;
  const stored = await snapshotCount(pool);
  try {
    sheet = await readSheetKeys(a.source, a.mapping, a.signal, stored);
  } catch (err) {
    if (a.signal?.aborted) throw err;
    sheetUnread = oneLine(err instanceof Error ? err.message : String(err));
  }
  if (sheet !== null) await writeSnapshot(pool, a.source.description, sheet);
  const extra =
    sheetUnread === null ? [] : [`the sheet could not be read now (${sheetUnread}); judged by its last snapshot`];
  return { ...(await evaluateHealth(pool, extra)), sheetUnread };
}

/** `health --json` (contract.md). */
export function healthJson(h: HealthReport) {
  return {
    healthy: h.healthy,
    issues: h.issues,
    missing_count: h.missingCount,
    error_rate: h.errorRate,
    last_sync_time: h.lastSyncTime === null ? null : h.lastSyncTime.toISOString(),
    retry_queue_size: h.retryQueueSize,
  };
}
