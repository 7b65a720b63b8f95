/**
 * What a source is told when a sheet is opened for the column mapping: the
 * type of each header cell (so the Sheets API renders dates and amounts as
 * the row rules read them) and which header is the buyer number (so a read
 * can prove its rows did not move). Every reader of the sheet (a sync, the
 * missing-buyer diff, the health check, the verification) opens it alike, so
 * they all see the same values.
 */
import { normaliseHeader, type Mapping } from '../mapping/mapping.ts';
import type { OpenHint } from '../sheet/source.ts';

export function openHint(mapping: Mapping, signal?: AbortSignal): OpenHint {
  const byHeader = new Map(mapping.columns.map((c) => [normaliseHeader(c.header), c.type]));
  const keyHeader = normaliseHeader(mapping.columns.find((c) => c.column === mapping.key)!.header);
  return {
    columnTypes: (header) => header.map((h) => byHeader.get(normaliseHeader(h)) ?? null),
    isKey: (h) => normaliseHeader(h) === keyHeader,
    ...(signal ? { signal } : {}),
  };
}
