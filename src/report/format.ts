/**
 * The sync report as people read it: Markdown and CSV for `buyer-sync
 * report`, the contract's JSON shape, and the grid of cells the report tab
 * holds (tab.ts writes it).
 */
import type { Mapping } from '../mapping/mapping.ts';
import { fmt } from '../format.ts';
import type { LastSync, Report, ReportLine } from './content.ts';

/** The report tab holds at most this many lines; the rest is one line saying how many. */
export const MAX_TAB_LINES = 10_000;

export const FIXED_ROWS_NOTE = 'fixed rows leave this list at the next sync';

/** The sheet header of a buyers column, by the mapping (the column name when it is not mapped). */
export function headerOf(mapping: Mapping | null, column: string | null): string {
  if (column === null) return '';
  return mapping?.columns.find((c) => c.column === column)?.header ?? column;
}

/** The contract's `report --json` shape; `kind` says which list a line belongs to (row, duplicate, lookalike, extra). */
export function reportJson(r: Report): unknown {
  return {
    generated_at: r.generated_at,
    last_sync: r.last_sync
      ? { run_id: r.last_sync.run_id, status: r.last_sync.status, finished_at: r.last_sync.finished_at }
      : null,
    counts: r.counts,
    lines: r.lines.map((l) => ({
      row_number: l.row_number,
      buyer_number: l.buyer_number,
      column: l.column,
      error_type: l.error_type,
      problem: l.problem,
      since: l.since,
      attempts: l.attempts,
      next_retry_at: l.next_retry_at,
      kind: l.kind,
    })),
  };
}

const KIND_LABEL: Record<ReportLine['kind'], string> = {
  row: 'failing row',
  duplicate: 'duplicate buyer number',
  lookalike: 'look-alike buyer numbers',
  extra: 'no longer on the sheet',
};

function csvCell(v: string): string {
  // A spreadsheet opening the CSV must not run a buyer number as a formula.
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function reportCsv(r: Report, mapping: Mapping | null): string {
  const head = [
    'kind',
    'row_number',
    'buyer_number',
    'column',
    'error_type',
    'problem',
    'since',
    'attempts',
    'next_retry_at',
  ];
  const lines = r.lines.map((l) =>
    [
      l.kind,
      l.row_number === null ? '' : String(l.row_number),
      l.buyer_number ?? '',
      headerOf(mapping, l.column),
      l.error_type ?? '',
      l.problem,
      l.since ?? '',
      String(l.attempts),
      l.next_retry_at ?? '',
    ]
      .map(csvCell)
      .join(','),
  );
  return `${[head.join(','), ...lines].join('\r\n')}\r\n`;
}

function runText(s: LastSync | null, time: (iso: string) => string): string {
  if (s === null) return 'no sync has run yet';
  const mode = s.mode === 'full' ? 'full sync' : s.mode === 'retry' ? 'retry round' : 'sync of listed buyers';
  return `${mode} ${s.run_id}, ${s.status}${s.failure ? ` (${s.failure})` : ''}${s.finished_at ? `, finished ${time(s.finished_at)}` : ''}`;
}

const mdCell = (v: string) =>
  v
    .replaceAll('\\', '\\\\')
    .replaceAll('|', '\\|')
    .replace(/[\r\n]+/g, ' ');

export function reportMarkdown(r: Report, mapping: Mapping | null): string {
  const out: string[] = ['# buyer-sync report', ''];
  out.push(`- **Generated:** ${r.generated_at}`);
  out.push(`- **Latest sync:** ${runText(r.last_sync, (t) => t)}`);
  out.push(
    `- **Buyers:** ${fmt(r.counts.on_sheet)} on the sheet, ${fmt(r.counts.in_database)} in the database, ${fmt(r.counts.missing)} missing`,
  );
  out.push(`- **Rows failing now:** ${fmt(r.counts.failing)} (${FIXED_ROWS_NOTE})`);
  out.push(
    `- **Latest verification:** ${r.verification ? `${r.verification.summary} (${r.verification.created_at})` : 'none yet'}`,
    '',
  );
  if (r.lines.length === 0) {
    out.push('Nothing to fix.');
    return `${out.join('\n')}\n`;
  }
  out.push(
    '| what | row | buyer number | column | problem | since | attempts | next retry |',
    '| --- | ---: | --- | --- | --- | --- | ---: | --- |',
  );
  for (const l of r.lines) {
    out.push(
      `| ${KIND_LABEL[l.kind]} | ${l.row_number ?? ''} | ${mdCell(l.buyer_number ?? '')} | ${mdCell(headerOf(mapping, l.column))} | ${mdCell(l.problem)} | ${l.since ?? ''} | ${l.kind === 'row' ? l.attempts : ''} | ${l.next_retry_at ?? ''} |`,
    );
  }
  return `${out.join('\n')}\n`;
}

/** One formatter per time zone: a report of 10,000 lines formats up to two times a line. */
const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** A time in the sheet's own time zone, as people there read it: 2026-03-15 14:05 (Asia/Tokyo). */
export function zonedTime(isoTime: string, timeZone: string): string {
  let format = zoneFormats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    zoneFormats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(isoTime)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** Text for a USER_ENTERED cell: always text, never a formula, a number or a date. */
const asText = (v: string) => (v === '' ? '' : `'${v}`);

export interface TabGridOptions {
  mapping: Mapping | null;
  /** The sheet's time zone (properties.timeZone). */
  timeZone: string;
  /** The buyers tab's sheetId: row links go to its cells. */
  buyersGid: number;
  /** The run after which the content last changed (the report's "since"). */
  since: LastSync | null;
  dashboardUrl: string | null;
}

/** The number of header rows above the lines in the tab (tests read the lines below them). */
export const TAB_HEADER_ROWS = 9;

/**
 * The report tab's cells, for values.batchUpdate with USER_ENTERED: text
 * cells carry a leading apostrophe (a buyer number like =A1 or 00123 stays
 * text), the row number is a HYPERLINK formula to the buyers tab's cell.
 */
export function tabGrid(r: Report, o: TabGridOptions): string[][] {
  const time = (t: string) => `${zonedTime(t, o.timeZone)} (${o.timeZone})`;
  const grid: string[][] = [
    [
      asText(
        'buyer-sync sync report: rewritten by buyer-sync after each sync that changes it; edits here are overwritten',
      ),
    ],
    [asText('Shows the sheet as of'), asText(runText(o.since, time))],
    [
      asText('Buyers on the sheet'),
      String(r.counts.on_sheet),
      asText('in the database'),
      String(r.counts.in_database),
      asText('missing'),
      String(r.counts.missing),
    ],
    [asText('Rows failing now'), String(r.counts.failing), asText(FIXED_ROWS_NOTE)],
    [asText('Latest verification'), asText(r.verification ? r.verification.summary : 'none yet')],
    [asText('Dashboard'), asText(o.dashboardUrl ?? '')],
    [asText('Fix a row on the buyers tab (click its row number); this tab is only a report.')],
    [],
    [
      'Row',
      'Buyer number',
      'Column',
      'What is wrong (and what is accepted)',
      'Since',
      'Attempts',
      'Next retry',
      'What',
    ].map(asText),
  ];
  const shown = r.lines.slice(0, MAX_TAB_LINES);
  for (const l of shown) {
    const link =
      l.row_number === null ? '' : `=HYPERLINK("#gid=${o.buyersGid}&range=A${l.row_number}","${l.row_number}")`;
    grid.push([
      link,
      asText(l.buyer_number ?? ''),
      asText(headerOf(o.mapping, l.column)),
      asText(l.problem),
      asText(l.since ? time(l.since) : ''),
      l.kind === 'row' ? String(l.attempts) : '',
      asText(l.next_retry_at ? time(l.next_retry_at) : ''),
      asText(KIND_LABEL[l.kind]),
    ]);
  }
  if (r.lines.length > shown.length) {
    grid.push([
      asText(`… and ${fmt(r.lines.length - shown.length)} more lines, not shown (buyer-sync report prints them all)`),
    ]);
  }
  return grid;
}
