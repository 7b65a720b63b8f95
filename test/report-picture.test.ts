/**
 * A picture of the sync report tab as the fake renders it, for the README:
 * a buyers tab of a handful of realistic rows (Japanese names, a budget
 * "3,500万", a date "2024/2/30", a buyer number typed twice, a full-width
 * look-alike "０００１０３" of a buyer on the sheet) is synced and the report
 * written through the real @googleapis/sheets client into the local fake
 * (src/testing/fake-sheets.ts), with SHEET_REPORT_NOTES on. The report tab's stored
 * cells are then drawn as a spreadsheet-like grid (row numbers, column
 * letters, the frozen header block, grid lines, HYPERLINK formulas as their
 * display text, the tab's warning-only protection, the notes written on the
 * buyers tab), screenshot by headless Chromium at 1200 px into
 * docs/report-tab.png and the OS temp dir (buyer-sync-report-picture/).
 * What the picture shows is checked: every failing row's number and buyer
 * number, in sheet-row order, and no name, phone, e-mail or address.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { projectRoot, readConfig } from '../src/config.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { TAB_HEADER_ROWS } from '../src/report/format.ts';
import { writeReportTab } from '../src/report/tab.ts';
import { HEADER } from '../src/sample/generate.ts';
import { credentialsFromEnv } from '../src/sheet/google/auth.ts';
import { GoogleSheetSource } from '../src/sheet/google/source.ts';
import { syncBuyers } from '../src/sync/engine.ts';
import { FakeSheetsServer, num, text, type FakeCell, type FakeTab } from '../src/testing/fake-sheets.ts';
import { useTestDatabase } from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PNG = path.join(projectRoot, 'docs', 'report-tab.png');
const SHOTS = path.join(os.tmpdir(), 'buyer-sync-report-picture');
const ACCOUNT = 'report-writer@example-project.iam.gserviceaccount.com';
const REPORT = 'buyer-sync report';
const SHEET_ID = 'reportpicture0000000xyz';
const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const fake = new FakeSheetsServer();
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-report-picture-'));
const db = useTestDatabase();
let browser: Browser;
let keyFile = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  mkdirSync(SHOTS, { recursive: true });
  await fake.start();
  keyFile = fake.serviceAccountKeyFile(ACCOUNT, path.join(dir, 'key.json'));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Google Sheets date serials (days since 1899-12-30) with what the sheet displays.
const day = (iso: string) =>
  num(Math.round((Date.parse(`${iso}T00:00:00Z`) - Date.UTC(1899, 11, 30)) / 86_400_000), iso.replaceAll('-', '/'));
const yen = (n: number) => num(n, `¥${n.toLocaleString('en-US')}`);
type Person = {
  key: string;
  name: string;
  phone: string;
  email: string;
  address: string;
  date?: FakeCell;
  budget?: FakeCell;
  follow?: FakeCell;
};
const people: Person[] = [
  {
    key: '000101',
    name: '佐藤 健一',
    phone: '090-1234-5678',
    email: 'k.sato@example.jp',
    address: '東京都世田谷区桜新町1-2-3',
  },
  {
    key: '000102',
    name: '鈴木 美咲',
    phone: '080-2345-6789',
    email: 'misaki.suzuki@example.jp',
    address: '神奈川県横浜市青葉区美しが丘4-5',
    budget: text('3,500万'),
  },
  {
    key: '000103',
    name: '高橋 大輔',
    phone: '070-3456-7890',
    email: 'd.takahashi@example.jp',
    address: '埼玉県さいたま市浦和区高砂2-8-1',
  },
  {
    key: '000104',
    name: '田中 陽子',
    phone: '090-4567-8901',
    email: 'yoko.tanaka@example.jp',
    address: '千葉県船橋市本町7-11-2',
    date: text('2024/2/30'),
  },
  {
    key: '000105',
    name: '伊藤 翔',
    phone: '080-5678-9012',
    email: 'sho.ito@example.jp',
    address: '東京都杉並区阿佐谷南3-6-9',
  },
  {
    key: '000102',
    name: '渡辺 直人',
    phone: '070-6789-0123',
    email: 'n.watanabe@example.jp',
    address: '東京都練馬区豊玉北5-14-1',
  },
  {
    key: '０００１０３',
    name: '山本 さくら',
    phone: '090-7890-1234',
    email: 'sakura.y@example.jp',
    address: '神奈川県川崎市中原区小杉町1-403',
  },
  {
    key: '000106',
    name: '中村 葵',
    phone: '080-8901-2345',
    email: 'aoi.nakamura@example.jp',
    address: '東京都目黒区自由が丘2-9-17',
    follow: day('2024-05-20'),
  },
];
const areas = ['世田谷区', '横浜市青葉区', 'さいたま市', '船橋市', '杉並区', '練馬区', '川崎市', '目黒区'];
const buyerRows: (FakeCell | null)[][] = people.map((p, i) => [
  text(p.key),
  text(p.name),
  text(p.phone),
  text(p.email),
  text(p.address),
  p.date ?? day(`2024-04-${String(i + 1).padStart(2, '0')}`),
  text(i % 2 ? 'SUUMO' : 'ホームページ'),
  text(areas[i]!),
  text(i % 3 ? '中古マンション' : '新築戸建'),
  p.budget ?? yen(30_000_000 + i * 5_000_000),
  text(i % 2 ? '商談中' : '新規'),
  text(i % 2 ? '小林' : '加藤'),
  p.follow ?? null,
  i === 0 ? text('駅近希望') : null,
]);
const personal = people.flatMap((p) => [p.name, p.phone, p.email, p.address]);

const env = () => ({ GOOGLE_APPLICATION_CREDENTIALS: keyFile });
const cellText = (c: FakeCell | null | undefined) => (c ? String(c.formatted) : '');
/** What the sheet displays for a stored USER_ENTERED value: text without its apostrophe, a HYPERLINK as its label. */
function display(c: FakeCell | null | undefined): { text: string; link: string | null; formula: string | null } {
  const raw = cellText(c);
  const h = /^=HYPERLINK\("((?:[^"]|"")*)"\s*,\s*"((?:[^"]|"")*)"\)$/i.exec(raw);
  if (h) return { text: h[2]!.replaceAll('""', '"'), link: h[1]!.replaceAll('""', '"'), formula: raw };
  return { text: raw.replace(/^'/, ''), link: null, formula: raw.startsWith('=') ? raw : null };
}
const letter = (i: number) => String.fromCharCode(65 + i);
const esc = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** The report tab as a spreadsheet-like HTML grid. */
function renderTab(tab: FakeTab, buyers: FakeTab): string {
  const width = 8;
  const colWidths = [84, 96, 104, 356, 150, 64, 150, 130];
  const rows = tab.rows;
  const shownRows = rows.length + 2; // a couple of empty rows below, as a sheet shows them
  const body: string[] = [];
  for (let r = 0; r < shownRows; r++) {
    const row = rows[r] ?? [];
    const cls = [
      r < TAB_HEADER_ROWS - 1 ? 'block' : '',
      r === TAB_HEADER_ROWS - 1 ? 'head frozen' : '',
      r === 0 ? 'title' : '',
    ].join(' ');
    const cells: string[] = [];
    for (let c = 0; c < width;) {
      const d = display(row[c]);
      const note = tab.notes?.[`${r},${c}`];
      const attrs = `data-cell="${letter(c)}${r + 1}"${d.formula ? ` title="${esc(d.formula)}"` : ''}`;
      const content = `${d.link ? `<a>${esc(d.text)}</a>` : esc(d.text)}${note ? `<i class="note" title="${esc(note)}"></i>` : ''}`;
      const numeric = /^\d+$/.test(d.text) && !cellText(row[c]).startsWith("'");
      // In the header block, text spills over empty cells to its right, as in a sheet.
      let span = 1;
      if (r < TAB_HEADER_ROWS - 1 && d.text !== '' && !numeric)
        while (c + span < width && display(row[c + span]).text === '') span++;
      cells.push(
        `<td ${attrs} colspan="${span}" class="${numeric ? 'num' : ''}${span > 1 ? ' spill' : ''}">${content}</td>`,
      );
      c += span;
    }
    body.push(`<tr class="${cls}"><th class="rn">${r + 1}</th>${cells.join('')}</tr>`);
  }
  const protection = (tab.protectedRanges ?? []).map(
    (p) =>
      `${p.warningOnly ? 'warning-only protection' : 'protected'}${p.description ? `: “${esc(p.description)}”` : ''}`,
  );
  const notes = Object.entries(buyers.notes ?? {}).map(([k, n]) => {
    const [r, c] = k.split(',').map(Number) as [number, number];
    return `<li><b>${esc(buyers.title)}!${letter(c)}${r + 1}</b> (${esc(HEADER[c] ?? '')}) ${esc(n)}</li>`;
  });
  return `<!doctype html><html><head><meta charset="utf-8"><style>
  body { margin: 0; font: 12px/1.35 "Liberation Sans", Arial, "IPAPGothic", "Noto Sans CJK JP", sans-serif; color: #202124; background: #fff; }
  .bar { display: flex; gap: 10px; align-items: center; padding: 8px 12px; background: #f9fbfd; border-bottom: 1px solid #c7c7c7; }
  .bar .doc { font-size: 16px; } .bar .lock { margin-left: auto; color: #8a5300; background: #fef7e0; border: 1px solid #f3d27a; border-radius: 4px; padding: 2px 8px; }
  .fx { display: flex; border-bottom: 1px solid #c7c7c7; font-family: "DejaVu Sans Mono", monospace; font-size: 11px; }
  .fx span { padding: 4px 8px; border-right: 1px solid #c7c7c7; color: #5f6368; } .fx code { padding: 4px 8px; }
  table { border-collapse: collapse; table-layout: fixed; }
  th, td { border: 1px solid #e2e3e3; padding: 3px 5px; vertical-align: top; }
  thead th { background: #f8f9fa; color: #5f6368; font-weight: normal; text-align: center; height: 18px; border-color: #c7c7c7; }
  th.rn { background: #f8f9fa; color: #5f6368; font-weight: normal; text-align: center; width: 36px; border-color: #c7c7c7; }
  td.num { text-align: right; } td.spill { white-space: nowrap; border-right-color: #e2e3e3; }
  tr.title td { font-weight: bold; font-size: 13px; }
  tr.block td:first-child { color: #3c4043; }
  tr.head td { font-weight: bold; background: #f1f3f4; }
  tr.frozen td, tr.frozen th { border-bottom: 4px solid #bdc1c6; }
  a { color: #1155cc; text-decoration: underline; }
  .note { display: inline-block; width: 0; height: 0; border-left: 6px solid transparent; border-top: 6px solid #f29900; float: right; margin: -3px -5px 0 0; }
  .tabs { display: flex; gap: 2px; padding: 0 12px; background: #f1f3f4; border-top: 1px solid #c7c7c7; }
  .tabs span { padding: 6px 14px; color: #5f6368; } .tabs .on { background: #fff; color: #1a73e8; font-weight: bold; border-bottom: 3px solid #1a73e8; }
  .legend { padding: 8px 14px 12px; color: #3c4043; font-size: 11.5px; border-top: 1px solid #e2e3e3; }
  .legend ul { margin: 4px 0 0; padding-left: 18px; } .legend li { margin: 1px 0; }
  </style></head><body>
  <div class="bar"><span class="doc">Buyers (fake Google Sheets, as stored)</span><span class="lock" data-protection>${protection.map(esc).join('; ') || 'not protected'}</span></div>
  <div class="fx"><span>A${TAB_HEADER_ROWS + 1}</span><code>${esc(cellText(rows[TAB_HEADER_ROWS]?.[0]))}</code></div>
  <table id="grid" style="width:${36 + colWidths.reduce((a, b) => a + b, 0)}px"><colgroup><col style="width:36px">${colWidths.map((w) => `<col style="width:${w}px">`).join('')}</colgroup>
  <thead><tr><th></th>${colWidths.map((_, i) => `<th>${letter(i)}</th>`).join('')}</tr></thead>
  <tbody>${body.join('\n')}</tbody></table>
  <div class="tabs">${['Buyers', REPORT].map((t) => `<span class="${t === tab.title ? 'on' : ''}">${esc(t)}${t === tab.title ? ' (protected, warning only)' : ''}</span>`).join('')}</div>
  <div class="legend">Drawn from the fake's stored cells of the <b>${esc(tab.title)}</b> tab after a sync and the report write. Rows 1–${TAB_HEADER_ROWS} are the header block (frozen-looking: the thick line); row numbers in column A are <code>=HYPERLINK</code> formulas to the buyers tab's row, shown as their label (the formula bar shows A${TAB_HEADER_ROWS + 1}). No cell holds a name, phone, e-mail or address: only buyer numbers.
  <br>SHEET_REPORT_NOTES is on: buyer-sync's notes on the buyers tab's failing cells (the report tab itself has ${Object.keys(tab.notes ?? {}).length} notes):
  <ul>${notes.join('')}</ul></div>
  </body></html>`;
}

it('draws the report tab as the fake stores it: failing rows in sheet order, buyer numbers only', async () => {
  fake.add({
    id: SHEET_ID,
    title: 'Buyers',
    tabs: [{ sheetId: 7, title: 'Buyers', rows: [HEADER.map(text), ...buyerRows] }],
    sharedWith: [ACCOUNT],
    editors: [ACCOUNT],
  });
  const s = new GoogleSheetSource(
    { spreadsheetId: SHEET_ID, gid: null },
    {
      rootUrl: fake.url,
      driveRootUrl: fake.url,
      credentials: () => credentialsFromEnv(env()),
      backoff: { baseMs: 5, maxMs: 40, attempts: 3 },
      perMinute: 100_000,
      timeoutMs: 5_000,
    },
  );
  const version = await s.version();
  await syncBuyers(db.pool, {
    mode: 'full',
    source: s,
    mapping,
    sourceVersion: 'version' in version ? `${version.version}; x` : null,
  });
  await s.release?.();
  const config = readConfig({
    SHEET_SOURCE: `gsheets:${SHEET_ID}`,
    SHEET_REPORT_TAB: REPORT,
    SHEET_REPORT_NOTES: 'true',
    GOOGLE_SHEETS_ROOT_URL: fake.url,
    GOOGLE_DRIVE_ROOT_URL: fake.url,
    GOOGLE_SHEETS_READS_PER_MINUTE: '100000',
  });
  const w = await writeReportTab(db.pool, {
    config: { ...config, sheetReportNotes: true },
    mapping,
    env: env(),
    timeoutMs: 5_000,
  });
  expect(w).toMatchObject({ outcome: 'written' });

  const sheet = fake.spreadsheets.get(SHEET_ID)!;
  const tab = sheet.tabs.find((t) => t.title === REPORT)!;
  const buyers = sheet.tabs.find((t) => t.title === 'Buyers')!;
  expect(tab.protectedRanges).toEqual([expect.objectContaining({ warningOnly: true })]);

  const page = await browser.newPage({ viewport: { width: 1200, height: 700 }, locale: 'en-US' });
  await page.setContent(renderTab(tab, buyers), { waitUntil: 'load' });
  await page.screenshot({ path: path.join(SHOTS, 'report-tab.png'), fullPage: true });
  // The README's picture is taken again only when asked (UPDATE_SCREENSHOTS=1): a test run never changes the tree.
  if (process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(path.join(SHOTS, 'report-tab.png'), PNG);

  // What the picture shows: the failing rows (the database's, by sheet row), their numbers and buyer numbers, in order.
  const { rows: failing } = await db.pool.query<{ row_number: number; buyer_number: string | null }>(
    `select row_number, buyer_number from buyer_sync.report_failing_rows order by row_number, buyer_number collate "C", column_name collate "C"`,
  );
  expect(failing.map((f) => f.row_number)).toEqual(expect.arrayContaining([3, 5, 8]));
  const shown = await page.$$eval('#grid tbody tr', (trs) =>
    trs
      .map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim()))
      .filter((cells) => cells[7] === 'failing row')
      .map((cells) => [Number(cells[0]), cells[1]]),
  );
  expect(shown).toEqual(failing.map((f) => [f.row_number, f.buyer_number ?? '']));
  const all = await page.$$eval('#grid tbody tr', (trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())),
  );
  // The buyer number typed twice: the earlier row is the one listed, naming the later one.
  expect(all.find((cells) => cells[0] === '3')?.[3]).toMatch(/buyer number 000102 is also on row 7/);
  expect(all.find((cells) => cells[0] === '8')?.[1]).toBe('０００１０３');
  // The row numbers are the stored HYPERLINK formulas' labels, linked to the buyers tab's row.
  expect(cellText(tab.rows[TAB_HEADER_ROWS]![0])).toMatch(
    new RegExp(`^=HYPERLINK\\("#gid=7&range=A${failing[0]!.row_number}"`),
  );
  // No personal data anywhere in the picture (the grid nor the legend's notes).
  const pageText = await page.innerText('body');
  for (const p of personal) expect(pageText).not.toContain(p);
  expect(pageText).toContain('warning-only protection');
  expect(Object.keys(buyers.notes ?? {}).length).toBeGreaterThan(0);
  await page.close();
}, 30_000);
