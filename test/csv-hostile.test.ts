/**
 * The export as people really write it makes no difference: a random hostile
 * sheet, written with a random record separator per record (CR LF, LF, CR),
 * in a random encoding (UTF-8, UTF-8 with a byte order mark, UTF-16LE/BE with
 * one, CP932 where the sheet can be written in it) and read in random piece
 * sizes, syncs to exactly the same database as its plain UTF-8, LF version:
 * the same buyers, the same error log, the same retry queue, the same
 * snapshot of the sheet's buyer numbers.
 */
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { HEADER } from '../src/sample/generate.ts';
import { CannotRunError } from '../src/errors.ts';
import type { EncodingRequest } from '../src/sheet/csv/detect.ts';
import { CsvSheetSource } from '../src/sheet/csv/source.ts';
import { sync as fullSync } from '../src/index.ts';
import { cellsOf, sheetArb, type GeneratedRow } from './arbitraries.ts';
import { resetSyncState, useTestDatabase } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-hostile-'));
const db = useTestDatabase();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Written = 'utf-8' | 'utf-8 bom' | 'utf-16le bom' | 'utf-16be bom' | 'cp932';
const SEPARATOR = fc.constantFrom('\n', '\r\n', '\r');

function field(c: string, quoteAll: boolean): string {
  return quoteAll || /[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c;
}

function encode(text: string, how: Written): Buffer {
  switch (how) {
    case 'utf-8':
      return Buffer.from(text, 'utf8');
    case 'utf-8 bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
    case 'utf-16le bom':
      return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    case 'utf-16be bom':
      return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    case 'cp932':
      return iconv.encode(text, 'cp932');
  }
}

let n = 0;
function write(content: Buffer): string {
  const f = path.join(dir, `${n++}.csv`);
  writeFileSync(f, content);
  return f;
}

/** Everything a sync writes, as comparable values (no ids, no times). */
async function state() {
  const q = async (sql: string) => (await db.pool.query(sql)).rows;
  return {
    buyers:
      await q(`select buyer_number, name, phone, email, address, inquiry_date::text, inquiry_source, desired_area, property_type,
                            budget::text, status, assignee, next_follow_up::text, notes from buyers order by buyer_number`),
    errors: await q(
      `select row_number, buyer_number, error_type, column_name, error_message, retryable from sync_error_log order by row_number, error_message`,
    ),
    queue: await q(
      `select buyer_number, row_number, status, attempt_count, error_info - 'run_id' - 'source' as info from retry_queue order by buyer_number`,
    ),
    sheet: await q(`select buyer_number, row_number from buyer_sync_private.sheet_buyers order by row_number`),
  };
}

async function syncFile(file: string, written: Written, pieceBytes?: number) {
  await resetSyncState(db.pool);
  const sync = (encoding: EncodingRequest | null) =>
    fullSync(db.pool, {
      source: new CsvSheetSource(file, { encoding, ...(pieceBytes ? { pieceBytes } : {}) }),
      mapping,
      batchSize: 7,
    });
  let result;
  try {
    result = await sync(null);
  } catch (err) {
    // Bytes that read as two encodings alike (accented Latin, or half-width katakana?), or as no language at all (kanji without
    // kana could be Korean or Chinese bytes), are refused until the operator says which.
    if (
      !(err instanceof CannotRunError) ||
      !/alike: pass --encoding|reads it as text of its own language/.test(err.message)
    )
      throw err;
    // The refused run is recorded (sync_runs, its run-level entry in the error log); what is compared is the sync that follows.
    await resetSyncState(db.pool);
    result = await sync({ encoding: written === 'cp932' ? 'shift_jis' : 'utf-8', from: '--encoding' });
  }
  return { result, state: await state() };
}

// Cells a file can carry at all: well-formed text (a lone surrogate has no encoding in UTF-8).
const writable = (rows: GeneratedRow[]) => rows.every((r) => cellsOf(r).every((c) => c.isWellFormed()));

describe('hostile exports', () => {
  it('any sheet, in any encoding, line endings and piece size, syncs exactly like its plain UTF-8 LF version', async () => {
    await fc.assert(
      fc.asyncProperty(
        sheetArb({ maxRows: 25 }).filter(writable),
        fc.constantFrom<Written>('utf-8', 'utf-8 bom', 'utf-16le bom', 'utf-16be bom', 'cp932'),
        fc.array(SEPARATOR, { minLength: 30, maxLength: 30 }),
        fc.boolean(),
        fc.boolean(),
        fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 17, max: 70_000 })),
        async (rows, wanted, separators, quoteAll, finalSeparator, pieceBytes) => {
          // A file holds every row as wide as the table (the Sheets API may omit trailing empty cells, a CSV export does not).
          const records = [HEADER, ...rows.map((r) => [r.key.text, ...r.cells.map((c) => c.text)])];
          const plain = records.map((r) => r.map((c) => field(c, false)).join(',')).join('\n');
          const hostile = records
            .map(
              (r, i) =>
                r.map((c) => field(c, quoteAll)).join(',') +
                (i < records.length - 1 || finalSeparator ? separators[i % 30]! : ''),
            )
            .join('');
          // CP932 only where the sheet can be written in it; otherwise UTF-8 with a byte order mark.
          const how: Written =
            wanted === 'cp932' && iconv.decode(iconv.encode(hostile, 'cp932'), 'cp932') !== hostile
              ? 'utf-8 bom'
              : wanted;

          const bytes = encode(hostile, how);
          const expected = await syncFile(write(encode(plain, 'utf-8')), 'utf-8');
          const got = await syncFile(write(bytes), how, pieceBytes);
          expect(got.state).toEqual(expected.state);
          const same = { runId: '', source: '', durationMs: 0, rowsPerSecond: 0, encoding: null, alerts: [] };
          expect({ ...got.result, ...same }).toEqual({ ...expected.result, ...same });
          expect(got.result.alerts.map((a) => [a.type, a.resolved])).toEqual(
            expected.result.alerts.map((a) => [a.type, a.resolved]),
          );
          // CP932 that is plain ASCII reads as UTF-8, rightly: the same text.
          const ascii = [...hostile].every((c) => c.charCodeAt(0) < 0x80);
          const label =
            how === 'cp932' && ascii
              ? 'UTF-8'
              : {
                  'utf-8': 'UTF-8',
                  'utf-8 bom': 'UTF-8',
                  'utf-16le bom': 'UTF-16LE',
                  'utf-16be bom': 'UTF-16BE',
                  cp932: 'Shift_JIS',
                }[how];
          expect(got.result.encoding?.label).toBe(label);
        },
      ),
      { numRuns: 100 },
    );
  });
});
