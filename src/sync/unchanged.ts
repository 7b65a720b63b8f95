/**
 * Whether a scheduled full sync needs to read the sheet (migration 059). A
 * source that can say its version without being read (a Google sheet: one
 * Drive request) is read only when:
 * - its version is not the one the last full sync of it read, or
 * - that full read is SHEET_FULL_READ_MINUTES old or older (a full read
 *   anyway, now and then: whatever Drive says, and whatever changed in the
 *   database since), or
 * - Drive did not answer with a version (refused, unexpected, no answer).
 * Otherwise the run is recorded as skipped, with why, and reads nothing: an
 * unchanged sheet costs a scheduled sync one request.
 *
 * Only scheduled syncs ask: a sync someone requested (the command line, the
 * dashboard, SQL) always reads.
 */
import type pg from 'pg';
import type { SheetSource } from '../sheet/source.ts';

export type ReadDecision =
  | { read: true; version: string | null; note: string | null }
  | { read: false; version: string; because: string };

interface LastFullRead {
  id: string;
  source_version: string | null;
  age_ms: number;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

export async function decideRead(pool: pg.Pool, source: SheetSource, fullReadEveryMs: number): Promise<ReadDecision> {
  if (!source.version) return { read: true, version: null, note: null };
  const found = await source.version();
  if ('unknown' in found) return { read: true, version: null, note: `${found.unknown}: reading the sheet in full` };
  const { rows } = await pool.query<LastFullRead>(
    `select id, source_version, (extract(epoch from now() - started_at) * 1000)::float8 as age_ms
       from public.sync_runs
      where mode = 'full' and status = 'succeeded'
        -- The same sheet: a run records the tab it resolved (#gid=…), the version names the tab it selects.
        and split_part(source, '#', 1) = split_part($1, '#', 1)
      order by started_at desc
      limit 1`,
    [source.description],
  );
  const last = rows[0];
  if (!last || last.source_version !== found.version) return { read: true, version: found.version, note: null };
  if (last.age_ms >= fullReadEveryMs) {
    return {
      read: true,
      version: found.version,
      note: `the sheet is unchanged since run ${last.id}, read in full ${minutes(last.age_ms)} ago: reading it in full again (SHEET_FULL_READ_MINUTES=${Math.round(fullReadEveryMs / 60_000)})`,
    };
  }
  return {
    read: false,
    version: found.version,
    because: `unchanged: Drive version ${found.version}${found.modifiedTime ? ` (modified ${found.modifiedTime})` : ''} is the one run ${last.id} read in full ${minutes(last.age_ms)} ago`,
  };
}

/** Records a scheduled full sync that read nothing; returns its id. */
export async function recordSkippedRun(pool: pg.Pool, run: { source: string; batchSize: number; version: string; because: string; durationMs: number }): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `insert into public.sync_runs (mode, status, source, batch_size, finished_at, duration_ms, source_version, skipped_because)
     values ('full', 'skipped', $1, $2, clock_timestamp(), $3, $4, $5)
     returning id`,
    [run.source, run.batchSize, Math.round(run.durationMs), run.version, run.because],
  );
  return rows[0]!.id;
}
