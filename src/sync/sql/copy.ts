/**
 * COPY in text format: PostgreSQL's own bulk load, for the run's new buyers
 * (stage.ts) and the sheet snapshot (snapshot.ts), and its bulk read, for the
 * content hashes a run starts from (buyers.ts).
 */
import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

/** A value in COPY's text format: \N for null; backslash, tab, newline and carriage return escaped. */
export function copyValue(v: string | null): string {
  if (v === null) return '\\N';
  let needs = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 92 || c === 9 || c === 10 || c === 13) {
      needs = true;
      break;
    }
  }
  return needs ? v.replace(/[\\\t\n\r]/g, (m) => (m === '\\' ? '\\\\' : m === '\t' ? '\\t' : m === '\n' ? '\\n' : '\\r')) : v;
}

/**
 * Sends rows (`width` values each) with one `copy … from stdin` statement, a
 * piece of about 64 KB at a time: small rows travel together, a big one goes
 * alone, and no copy of the whole load is ever made.
 */
export async function copyRows(client: pg.ClientBase, statement: string, rows: Iterable<ArrayLike<string | number | null>>, width: number): Promise<void> {
  const stream = client.query(copyFrom(statement));
  const finished = once(stream, 'finish');
  let failed: unknown = null;
  stream.on('error', (err) => (failed ??= err));
  let line = '';
  for (const r of rows) {
    for (let c = 0; c < width; c++) {
      const v = r[c] ?? null;
      line += (c > 0 ? '\t' : '') + (typeof v === 'number' ? String(v) : copyValue(v));
    }
    line += '\n';
    if (line.length >= 1 << 16) {
      if (!stream.write(line)) await Promise.race([once(stream, 'drain'), finished]);
      line = '';
      if (failed !== null) break;
    }
  }
  stream.end(line);
  await finished;
}

/** A field of COPY's text format as the value it stands for (null for \N). */
export function copyField(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))/gs, (_, octal: string | undefined, hex: string | undefined, c: string | undefined) => {
    if (octal !== undefined) return String.fromCharCode(parseInt(octal, 8));
    if (hex !== undefined) return String.fromCharCode(parseInt(hex, 16));
    return c === 'b' ? '\b' : c === 'f' ? '\f' : c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c === 'v' ? '\v' : c!;
  });
}

/**
 * Runs `copy (…) to stdout` and hands each row's fields to `row`, as they
 * arrive: a large result never sits in memory whole, and no row becomes an
 * object on the way (what makes this faster than a query's rows).
 */
export async function copyOut(client: pg.ClientBase, statement: string, row: (fields: (string | null)[]) => void): Promise<void> {
  const stream = client.query(copyTo(statement));
  let rest: Buffer | null = null;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    // Rows are cut at newline bytes, which never occur inside a UTF-8 character.
    const bytes: Buffer = rest === null ? chunk : Buffer.concat([rest, chunk]);
    const end = bytes.lastIndexOf(10);
    if (end < 0) {
      rest = bytes;
      continue;
    }
    const text = bytes.toString('utf8', 0, end);
    rest = end + 1 < bytes.length ? bytes.subarray(end + 1) : null;
    let at = 0;
    while (at <= text.length) {
      let nl = text.indexOf('\n', at);
      if (nl < 0) nl = text.length;
      row(text.slice(at, nl).split('\t').map(copyField));
      at = nl + 1;
    }
  }
  if (rest !== null && rest.length > 0) throw new Error('COPY ended in the middle of a row');
}
