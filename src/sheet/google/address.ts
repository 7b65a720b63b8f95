/**
 * Where a Google spreadsheet is: the URL people copy from the browser
 * (`https://docs.google.com/spreadsheets/d/<id>/edit#gid=<gid>`, the gid picks
 * the tab) or `gsheets:<id>`.
 */
import { UsageError } from '../../errors.ts';

export interface SheetAddress {
  spreadsheetId: string;
  /** The tab's sheetId from a URL's `gid`, if the URL names one. */
  gid: number | null;
}

const ID = /^[A-Za-z0-9_-]{10,}$/;

export function parseSheetAddress(spec: string): SheetAddress {
  const text = spec.trim();
  const prefixed = /^gsheets:(.+)$/i.exec(text);
  if (prefixed) {
    const [id, gidPart] = prefixed[1]!.split('#');
    if (!ID.test(id!))
      throw new UsageError(`"${text}" is not a spreadsheet id (gsheets:<id>, the long id in the sheet's URL)`);
    const gid = gidPart ? /^gid=(\d+)$/.exec(gidPart)?.[1] : undefined;
    return { spreadsheetId: id!, gid: gid === undefined ? null : Number(gid) };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`"${text}" is not a Google Sheets address`);
  }
  const m = /^\/spreadsheets\/(?:u\/\d+\/)?d\/([A-Za-z0-9_-]+)/.exec(url.pathname);
  if (url.hostname !== 'docs.google.com' || !m || !ID.test(m[1]!)) {
    throw new UsageError(
      `"${text}" is not a Google Sheets URL (expected https://docs.google.com/spreadsheets/d/<id>/edit#gid=<tab>)`,
    );
  }
  const gid = /(?:^|[#&?])gid=(\d+)/.exec(url.hash)?.[1] ?? url.searchParams.get('gid');
  return { spreadsheetId: m[1]!, gid: gid === null || gid === undefined ? null : Number(gid) };
}

/** A1 notation for a tab name: always quoted, quotes doubled. */
export function quoteTab(title: string): string {
  return `'${title.replaceAll("'", "''")}'`;
}
