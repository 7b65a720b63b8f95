/**
 * Reading from Google Sheets: the same sheet served by the local fake Sheets
 * API (src/testing/fake-sheets.ts) through the real @googleapis/sheets client,
 * against its CSV export; whole `buyer-sync sync` processes.
 */
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/config.ts';
import { generateRows, HEADER } from '../src/sample/generate.ts';
import { FakeSheetsServer, num, text, type FakeCell } from '../src/testing/fake-sheets.ts';
import { dropDatabase, freshDatabase } from './databases.ts';
import { cliCommand, run } from './process.ts';

/** The generated sheet as Google holds it: dates and amounts as numbers with their display, the rest as text. */
function fakeRows(count: number): (FakeCell | null)[][] {
  const out: (FakeCell | null)[][] = [];
  for (const row of generateRows({ count, seed: 7, plain: true })) {
    out.push(
      row.map((cell, i) => {
        if (cell === '') return null;
        if (out.length > 0 && (i === 5 || i === 12)) {
          const [y, m, d] = cell.split('-').map(Number);
          return num(
            Math.round((Date.UTC(y!, m! - 1, d!) - Date.UTC(1899, 11, 30)) / 86_400_000),
            cell.replaceAll('-', '/'),
          );
        }
        if (out.length > 0 && i === 9) return num(Number(cell), `¥${Number(cell).toLocaleString('en-US')}`);
        return text(cell);
      }),
    );
  }
  return out;
}

export interface SourceFigures {
  label: string;
  requests: number;
  bytes: number;
  syncMs: number;
}

/** A full sync from the (fake) Google Sheets API and from the CSV export of the same sheet. */
export async function sheetsBench(adminUrl: string, dir: string, count: number): Promise<SourceFigures[]> {
  const fake = new FakeSheetsServer();
  const rows = fakeRows(count);
  fake.add({
    id: 'benchSheet0000000000',
    tabs: [{ sheetId: 0, title: 'Buyers', rows, rowCount: rows.length + 10 }],
    apiKeys: ['bench-key'],
  });
  await fake.start();
  const csv = path.join(dir, 'sheets-export.csv');
  writeFileSync(
    csv,
    rows
      .map((r) =>
        HEADER.map((_, i) => {
          const c = r[i]?.formatted ?? '';
          return /[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c;
        }).join(','),
      )
      .join('\r\n'),
  );
  try {
    const figures: SourceFigures[] = [];
    for (const [label, sourceArg] of [
      [
        'Google Sheets API (local fake, real client)',
        'https://docs.google.com/spreadsheets/d/benchSheet0000000000/edit#gid=0',
      ],
      ['CSV export of the same sheet', csv],
    ] as const) {
      const url = await freshDatabase(adminUrl, 'buyer_sync_bench_sheets');
      fake.requests.length = 0;
      const r = await run(
        ...cliCommand(path.join(projectRoot, 'bin', 'buyer-sync.js'), ['sync', '--source', sourceArg, '--json']),
        {
          ...process.env,
          DATABASE_URL: url,
          GOOGLE_SHEETS_ROOT_URL: fake.url,
          GOOGLE_API_KEY: 'bench-key',
        },
      );
      const body = JSON.parse(r.stdout);
      if (body.inserted !== count) throw new Error(`${label}: expected ${count} inserted, got ${r.stdout}`);
      figures.push({
        label,
        requests: sourceArg === csv ? 1 : fake.requests.length,
        bytes: sourceArg === csv ? statSync(csv).size : fake.requests.reduce((a, q) => a + q.bytes, 0),
        syncMs: r.ms,
      });
      await dropDatabase(adminUrl, 'buyer_sync_bench_sheets');
    }
    return figures;
  } finally {
    await fake.stop();
  }
}
