/**
 * COPY in text format: PostgreSQL's own bulk load, for the run's new buyers
 * (stage.ts) and the sheet snapshot (snapshot.ts), and its bulk read, for the
 * content hashes a run starts from (buyers.ts).
 */
import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPED = new RegExp(NEEDS_ESCAPE.source, 'g');

/** A value in COPY's text format: \N for null; backslash, tab, newline and carriage return escaped. */
export function copyValue(v: string | null): string {
  if (v === null) return '\\N';
  return NEEDS_ESCAPE.test(v)
    ? v.replace(ESCAPED, (m) => (m === '\\' ? '\\\\' : m === '\t' ? '\\t' : m === '\n' ? '\\n' : '\\r'))
    : v;
}

/** Bytes sent at a time: small rows travel together, a big one goes alone. */
const PIECE = 1 << 16;

/**
 * Sends rows (`width` values each) with one `copy … from stdin` statement.
 * Each value is written as UTF-8 straight into the piece being filled (no
 * line string is built and converted again), a piece goes out once it holds
 * 64 KB, and a value too big for a piece goes alone: no copy of the whole
 * load is ever made.
 */
export async function copyRows(
  client: pg.ClientBase,
  statement: string,
  rows: Iterable<ArrayLike<string | number | null>>,
  width: number,
): Promise<void> {
  const stream = client.query(copyFrom(statement));
  const finished = once(stream, 'finish');
  let failed: unknown = null;
  stream.on('error', (err) => (failed ??= err));
  let piece = Buffer.allocUnsafe(PIECE * 2);
  let at = 0;
  let full = false;
  const send = () => {
    if (at === 0) return;
    // The stream keeps the buffer it is given: the next piece is a new one.
    if (!stream.write(piece.subarray(0, at))) full = true;
    piece = Buffer.allocUnsafe(PIECE * 2);
    at = 0;
  };
  const put = (text: string) => {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (at + text.length * 3 > piece.length) {
      send();
      if (text.length * 3 > piece.length) {
        if (!stream.write(Buffer.from(text, 'utf8'))) full = true;
        return;
      }
    }
    at += piece.write(text, at, 'utf8');
  };
  const byte = (b: number) => {
    if (at >= piece.length) send();
    piece[at++] = b;
  };
  for (const r of rows) {
    for (let c = 0; c < width; c++) {
      const v = r[c] ?? null;
      if (c > 0) byte(9);
      put(typeof v === 'number' ? String(v) : copyValue(v));
    }
    byte(10);
    if (at >= PIECE) send();
    if (full) {
      await Promise.race([once(stream, 'drain'), finished]);
      full = false;
      if (failed !== null) break;
    }
  }
  send();
  stream.end();
  await finished;
}

/** A field of COPY's text format as the value it stands for (null for \N). */
export function copyField(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(
    /\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))/gs,
    (_, octal: string | undefined, hex: string | undefined, c: string | undefined) => {
      if (octal !== undefined) return String.fromCharCode(parseInt(octal, 8));
      if (hex !== undefined) return String.fromCharCode(parseInt(hex, 16));
      return c === 'b'
        ? '\b'
        : c === 'f'
          ? '\f'
          : c === 'n'
            ? '\n'
            : c === 'r'
              ? '\r'
              : c === 't'
                ? '\t'
                : c === 'v'
                  ? '\v'
                  : c!;
    },
  );
}

/**
 * Runs `copy (…) to stdout` and hands each row's fields to `row`, as they
 * arrive: a large result never sits in memory whole, and no row becomes an
 * object on the way (what makes this faster than a query's rows).
 */
export async function copyOut(
  client: pg.ClientBase,
  statement: string,
  row: (fields: (string | null)[]) => void,
): Promise<void> {
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
