/**
 * Whether a scheduled full sync needs to read the sheet (migration 059). A
 * source that can say its version without being parsed (a Google sheet: one
 * Drive request; a CSV export: a hash of its bytes) is read only when:
 * - its version, or the mapping, or buyer-sync's own version, is not the one
 *   the last full sync of it read with, or
 * - that full read is SHEET_FULL_READ_MINUTES old or older (a full read
 *   anyway, now and then: whatever Drive says, and whatever changed in the
 *   database since), or
 * - Drive did not answer with a version (refused, unexpected, no answer).
 * Otherwise the run is recorded as skipped, with why, and reads nothing: an
 * unchanged sheet costs a scheduled sync one request.
 *
 * Only scheduled syncs ask (and `sync --if-changed`, for cron): a sync
 * someone requested (the command line, the dashboard, SQL) always reads, and
 * records the version it read, so that the next scheduled sync can skip.
 */
import { createHash } from 'node:crypto';
import { isOwnReportWrite } from '../report/own-version.ts';
import type pg from 'pg';
import { PACKAGE_VERSION } from '../paths.ts';
import type { Mapping } from '../mapping/mapping.ts';
import type { SheetSource } from '../sheet/source.ts';
import { lastFullRead } from './sql/runs.ts';

/**
 * What else decides what a read of an unchanged sheet would write: the
 * column mapping and the row rules (this release). A change to either is a
 * reason to read the sheet again.
 */
export function readFingerprint(mapping: Mapping): string {
  return `mapping ${createHash('sha256').update(JSON.stringify(mapping)).digest('hex').slice(0, 12)}, buyer-sync ${PACKAGE_VERSION}`;
}

/** A full sync about to read: skipped (the run is recorded), or to read, with the version it will have read. */
export type BeforeFullRead =
  | { skipped: { runId: string; because: string; lastRunId: string; lastFailed: number; durationMs: number } }
  | { skipped: null; sourceVersion: string | null; note: string | null };

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/**
 * What every full sync does before it reads (the schedule, `sync`,
 * `--if-changed`, "Sync now"): ask the source for its version. With
 * `skipIfUnchanged` (a schedule, --if-changed), an unchanged sheet is not
 * read: the skipped run is recorded here. Otherwise the version goes on the
 * run that reads, for the next schedule to compare with.
 */
export async function beforeFullRead(
  pool: pg.Pool,
  source: SheetSource,
  mapping: Mapping,
  o: { skipIfUnchanged: boolean; fullReadEveryMs: number; batchSize: number },
): Promise<BeforeFullRead> {
  const started = performance.now();
  if (!source.version) return { skipped: null, sourceVersion: null, note: null };
  const got = await source.version();
  if ('unknown' in got)
    return {
      skipped: null,
      sourceVersion: null,
      note: o.skipIfUnchanged ? `${got.unknown}: reading the sheet in full` : null,
    };
  const version = `${got.version}; ${readFingerprint(mapping)}`;
  if (!o.skipIfUnchanged) return { skipped: null, sourceVersion: version, note: null };
  // The same sheet, whichever tab: the version names the tab it selects.
  const last = await lastFullRead(pool, source.description);
  // The report tab's own write bumps the Drive version: that version is ours, not a person's edit (report/own-version.ts).
  const ownWrite =
    !!last &&
    last.source_version !== version &&
    (await isOwnReportWrite(pool, source.description, last.source_version, version));
  if (!last || (last.source_version !== version && !ownWrite))
    return { skipped: null, sourceVersion: version, note: null };
  if (last.age_ms >= o.fullReadEveryMs) {
    return {
      skipped: null,
      sourceVersion: version,
      note: `the sheet is unchanged since run ${last.id}, read in full ${minutes(last.age_ms)} ago: reading it in full again (SHEET_FULL_READ_MINUTES=${Math.round(o.fullReadEveryMs / 60_000)})`,
    };
  }
  const durationMs = Math.round(performance.now() - started);
  const because = `unchanged: version ${got.version}${got.modifiedTime ? ` (modified ${got.modifiedTime})` : ''} is the one run ${last.id} read in full ${minutes(last.age_ms)} ago`;
  const { rows: run } = await pool.query<{ id: string }>(
    `insert into public.sync_runs (mode, status, skipped_kind, source, batch_size, finished_at, duration_ms, source_version, skipped_because)
     values ('full', 'skipped', 'unchanged', $1, $2, clock_timestamp(), $3, $4, $5)
     returning id`,
    [source.description, o.batchSize, durationMs, version, because],
  );
  return { skipped: { runId: run[0]!.id, because, lastRunId: last.id, lastFailed: last.failed, durationMs } };
}
