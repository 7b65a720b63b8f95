/**
 * The sync report as SQL has it (migration 068): its content (content.ts,
 * read in one snapshot), what was last written to the report tab and every
 * attempt (report_state, report_writes, tab.ts), the report_write_failed
 * alert, the setting serve records, and whether a sheet version is our own
 * write (own-version.ts).
 */
import type { Queryable } from '../db/queryable.ts';

/** A run as the report names it (its "since"). */
export interface ReportRun {
  id: string;
  mode: string;
  status: string;
  failure: string | null;
  finished_at: Date | null;
}

/** The latest finished run (full, retry or --only): the run the report follows. */
export async function latestFinishedRun(db: Queryable): Promise<ReportRun | undefined> {
  const { rows } = await db.query<ReportRun>(
    `select id, mode, status, failure, finished_at from public.sync_runs
      where status in ('succeeded', 'failed') and mode in ('full', 'retry', 'only')
      order by coalesce(finished_at, started_at) desc limit 1`,
  );
  return rows[0];
}

/** One run by id: the run an unchanged report still follows (report_state.since_run_id). */
export async function runById(db: Queryable, runId: string): Promise<ReportRun | undefined> {
  const { rows } = await db.query<ReportRun>(
    `select id, mode, status, failure, finished_at from public.sync_runs where id = $1`,
    [runId],
  );
  return rows[0];
}

/** The report's counts: buyers on the sheet, in the database, and on the sheet but missing from the database. */
export async function reportCounts(db: Queryable): Promise<{ on_sheet: number; in_database: number; missing: number }> {
  const { rows } = await db.query<{ on_sheet: number; in_database: number; missing: number }>(
    `select (select count(*) from buyer_sync_private.sheet_buyers)::int as on_sheet,
              (select count(*) from public.buyers)::int as in_database,
              (select count(*) from buyer_sync.missing_buyers)::int as missing`,
  );
  return rows[0]!;
}

/** A row failing now, by the column and rule that fail it. */
export interface FailingRow {
  row_number: number;
  buyer_number: string | null;
  column_name: string | null;
  error_type: string;
  problem: string;
  since: Date;
  attempts: number;
  next_retry_at: Date | null;
}

/** Every row failing now (buyer_sync.report_failing_rows), in sheet order: the report's first lines. */
export async function failingRows(db: Queryable): Promise<FailingRow[]> {
  const { rows } =
    await db.query<FailingRow>(`select row_number, buyer_number, column_name, error_type, problem, since, attempts, next_retry_at
          from buyer_sync.report_failing_rows
         order by row_number, buyer_number collate "C", column_name collate "C"`);
  return rows;
}

/** Buyer numbers on more than one row of the sheet, with their rows, in sheet order. */
export async function duplicateKeys(db: Queryable): Promise<{ buyer_number: string; row_numbers: number[] }[]> {
  const { rows } = await db.query<{ buyer_number: string; row_numbers: number[] }>(
    `select buyer_number, row_numbers from buyer_sync.report_duplicate_keys order by row_numbers[1], buyer_number collate "C"`,
  );
  return rows;
}

/** Look-alike buyer numbers in the database: one number written differently. */
export async function lookalikeBuyers(db: Queryable): Promise<{ buyer_numbers: string[] }[]> {
  const { rows } = await db.query<{ buyer_numbers: string[] }>(
    `select buyer_numbers from buyer_sync.lookalike_buyers order by buyer_numbers[1] collate "C"`,
  );
  return rows;
}

/** Buyers in the database that are no longer on the sheet (kept: buyer-sync never deletes a buyer). */
export async function extraBuyers(db: Queryable): Promise<{ buyer_number: string }[]> {
  const { rows } = await db.query<{ buyer_number: string }>(
    `select buyer_number from buyer_sync.extra_buyers order by buyer_number collate "C"`,
  );
  return rows;
}

/** The latest verification (buyer-sync verify), if any: the report says whether it passed. */
export async function latestVerification(
  db: Queryable,
): Promise<{ passed: boolean; summary: string; created_at: Date } | undefined> {
  const { rows } = await db.query<{ passed: boolean; summary: string; created_at: Date }>(
    `select passed, summary, created_at from buyer_sync.latest_verification limit 1`,
  );
  return rows[0];
}

/** Records the report tab serve writes to (null: none): finished runs then enqueue report__write (migration 068). */
export async function saveReportSetting(db: Queryable, tab: string | null): Promise<void> {
  await db.query(
    `insert into buyer_sync_private.report_settings (singleton, tab, recorded_at) values (true, $1, now())
     on conflict (singleton) do update set tab = excluded.tab, recorded_at = excluded.recorded_at`,
    [tab],
  );
}

/** What was last written to a report tab: an unchanged report is not written again. */
export interface ReportState {
  content_hash: string;
  notes_hash: string | null;
  read_version: string | null;
  own_version: string | null;
  since_run_id: string | null;
}

/** The report_state of a target (`gsheets:<spreadsheet id>!<tab>`); null when nothing was written to it yet. */
export async function reportState(db: Queryable, target: string): Promise<ReportState | null> {
  const { rows } = await db.query<ReportState>(
    `select content_hash, notes_hash, read_version, own_version, since_run_id from buyer_sync_private.report_state where target = $1`,
    [target],
  );
  return rows[0] ?? null;
}

/** Records what a report write wrote (report_state): the next one compares with it. */
export async function saveReportState(
  db: Queryable,
  s: {
    target: string;
    contentHash: string;
    sinceRunId: string | null;
    lines: number;
    readVersion: string | null;
    ownVersion: string | null;
    notesHash: string | null;
  },
): Promise<void> {
  await db.query(
    `insert into buyer_sync_private.report_state (target, content_hash, since_run_id, written_at, lines, read_version, own_version, notes_hash)
       values ($1, $2, $3, now(), $4, $5, $6, $7)
       on conflict (target) do update set content_hash = excluded.content_hash, since_run_id = excluded.since_run_id, written_at = excluded.written_at,
         lines = excluded.lines, read_version = excluded.read_version, own_version = excluded.own_version, notes_hash = excluded.notes_hash`,
    [s.target, s.contentHash, s.sinceRunId, s.lines, s.readVersion, s.ownVersion, s.notesHash],
  );
}

/** Records a report write that succeeded (report_writes), with its requests and the Drive versions around it. */
export async function recordReportWritten(
  db: Queryable,
  w: {
    target: string;
    sinceRunId: string | null;
    lines: number;
    requests: number;
    driveVersionBefore: string | null;
    driveVersionAfter: string | null;
  },
): Promise<void> {
  await db.query(
    `insert into buyer_sync_private.report_writes (target, outcome, since_run_id, lines, requests, drive_version_before, drive_version_after)
       values ($1, 'written', $2, $3, $4, $5, $6)`,
    [w.target, w.sinceRunId, w.lines, w.requests, w.driveVersionBefore, w.driveVersionAfter],
  );
}

/** A report write succeeded: resolves the target's open report_write_failed alerts (with a resolved notice each). */
export async function resolveReportWriteFailed(db: Queryable, target: string): Promise<void> {
  await db.query(`select * from buyer_sync_private.resolve_report_write_failed($1)`, [target]);
}

/** How many writes to the target failed since the last one that succeeded: the retry's backoff grows with it. */
export async function failedReportWritesSinceWritten(db: Queryable, target: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from buyer_sync_private.report_writes w
        where w.target = $1 and w.outcome = 'failed'
          and w.attempted_at > coalesce((select max(x.attempted_at) from buyer_sync_private.report_writes x where x.target = $1 and x.outcome = 'written'), '-infinity')`,
    [target],
  );
  return rows[0]!.n;
}

/** Records a report write that failed (report_writes), with how and why. */
export async function recordReportWriteFailed(
  db: Queryable,
  w: {
    target: string;
    lines: number;
    requests: number;
    httpStatus: number | null;
    failure: string;
    message: string;
  },
): Promise<void> {
  await db.query(
    `insert into buyer_sync_private.report_writes (target, outcome, lines, requests, http_status, failure, error_message)
       values ($1, 'failed', $2, $3, $4, $5, $6)`,
    [w.target, w.lines, w.requests, w.httpStatus, w.failure, w.message],
  );
}

/**
 * Raises report_write_failed for a condition (report_write_failed:<target>:<failure>)
 * unless it is open already; whether it raised one (once per condition).
 */
export async function raiseReportWriteFailed(
  db: Queryable,
  condition: string,
  message: string,
  details: object,
): Promise<boolean> {
  const { rows } = await db.query(`select * from buyer_sync_private.raise_report_write_failed($1, $2, $3)`, [
    condition,
    message,
    JSON.stringify(details),
  ]);
  return rows.length > 0;
}

/**
 * Whether `currentVersion` of the spreadsheet is the Drive version our own
 * report write produced from `readVersion` (buyer_sync.is_own_report_version):
 * the scheduled sync then treats the sheet as unchanged.
 */
export async function isOwnReportVersion(
  db: Queryable,
  spreadsheetId: string,
  readVersion: string,
  currentVersion: string,
): Promise<boolean> {
  const { rows } = await db.query<{ own: boolean }>(`select buyer_sync.is_own_report_version($1, $2, $3) as own`, [
    spreadsheetId,
    readVersion,
    currentVersion,
  ]);
  return rows[0]?.own === true;
}
