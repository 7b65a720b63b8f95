/**
 * The missing-buyer report: the sheet's buyer numbers are read (streamed) into
 * the snapshot table, and SQL computes both set differences
 * (buyer_sync.missing_buyers, buyer_sync.extra_buyers). Never a count comparison.
 */
import type pg from 'pg';
import { CannotRunError } from '../errors.ts';
import { normaliseHeader, unusableHeaderRow, type Mapping } from '../mapping/mapping.ts';
import type { SheetSource } from '../sheet/source.ts';
import { openHint } from './open-hint.ts';
import { cellProblem } from './rows.ts';
import { SheetKeyList } from './sheet-keys.ts';
import { replaceSheetSnapshot, snapshotCount, type SnapshotRead } from './sql/snapshot.ts';
import type { Queryable } from './types.ts';

/** A read of the sheet's buyer numbers, as the snapshot takes it. */
export type SheetKeys = Omit<SnapshotRead, 'source' | 'runId'>;

/**
 * The sheet's buyer numbers (first row of each), by the same key rule the
 * sync applies. Given the stored snapshot's size, it keeps the hash of as many
 * first entries, so that a sheet that only grew appends to the snapshot.
 */
export async function readSheetKeys(
  source: SheetSource,
  mapping: Mapping,
  signal?: AbortSignal,
  snapshotCount = 0,
): Promise<SheetKeys> {
  const reader = await source.open(openHint(mapping, signal));
  try {
    const keyHeader = mapping.columns.find((c) => c.column === mapping.key)!.header;
    const at = reader.header.map(normaliseHeader).indexOf(normaliseHeader(keyHeader));
    if (at < 0)
      throw (
        unusableHeaderRow(mapping, reader.header) ??
        new CannotRunError(`the sheet has no "${keyHeader}" column (the buyer number)`)
      );
    const label = reader.format.encoding?.label ?? null;
    const seen = new Set<string>();
    const list = new SheetKeyList(snapshotCount);
    for await (const chunk of reader.rows) {
      signal?.throwIfAborted();
      for (const { rowNumber, cells } of chunk) {
        const key = (cells[at] ?? '').trim();
        // The sync's own rule for a usable buyer number.
        if (key === '' || cellProblem(key, label) !== null) continue;
        if (!seen.has(key)) {
          seen.add(key);
          list.add(key, rowNumber);
        }
      }
    }
    return { keys: list, count: list.count, ...list.digest() };
  } finally {
    await reader.close();
    await source.release?.();
  }
}

export interface MissingReport {
  spreadsheetCount: number;
  databaseCount: number;
  missing: string[];
  extra: string[];
  /** buyer number -> sheet row, for the missing ones */
  missingRows: Map<string, number>;
}

/** Reads the diff views (after the snapshot is current). */
export async function queryMissing(db: Queryable): Promise<MissingReport> {
  const { rows: counts } = await db.query<{ sheet: number; db: number }>(
    `select (select count(*) from buyer_sync_private.sheet_buyers)::int as sheet,
            (select count(*) from public.buyers)::int as db`,
  );
  const { rows: missing } = await db.query<{ buyer_number: string; row_number: number }>(
    `select buyer_number, row_number from buyer_sync.missing_buyers order by row_number`,
  );
  const { rows: extra } = await db.query<{ buyer_number: string }>(
    `select buyer_number from buyer_sync.extra_buyers order by buyer_number`,
  );
  return {
    spreadsheetCount: counts[0]?.sheet ?? 0,
    databaseCount: counts[0]?.db ?? 0,
    missing: missing.map((r) => r.buyer_number),
    extra: extra.map((r) => r.buyer_number),
    missingRows: new Map(missing.map((r) => [r.buyer_number, r.row_number])),
  };
}

/** Reads the sheet now, makes it the snapshot, and reports both differences. */
export async function compareSheetAndDatabase(
  pool: pg.Pool,
  source: SheetSource,
  mapping: Mapping,
  signal?: AbortSignal,
): Promise<MissingReport> {
  const sheet = await readSheetKeys(source, mapping, signal, await snapshotCount(pool));
  const client = await pool.connect();
  try {
    await client.query('begin');
    await replaceSheetSnapshot(client, { source: source.description, ...sheet, runId: null });
    const report = await queryMissing(client);
    await client.query('commit');
    return report;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export function missingReportJson(r: MissingReport) {
  return {
    spreadsheet_count: r.spreadsheetCount,
    database_count: r.databaseCount,
    missing: r.missing,
    extra: r.extra,
  };
}
