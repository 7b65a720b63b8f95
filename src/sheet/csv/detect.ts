/**
 * Which encoding a CSV export is in, decided from the whole file before a
 * row is read, and never a silent guess.
 *
 * - A byte order mark decides: UTF-8, UTF-16LE or UTF-16BE.
 * - Without one, a file that is valid UTF-8 is UTF-8 (every ASCII file is).
 * - A file that is not, but decodes without a single error as Shift_JIS
 *   (Excel's "CSV" on a Japanese Windows) and not as EUC-JP, is Shift_JIS; the
 *   other way round, EUC-JP. One that decodes cleanly as both is ambiguous and
 *   refused: the operator says which (`--encoding`, SHEET_ENCODING).
 * - But much UTF-8 Japanese also decodes cleanly as Shift_JIS (into
 *   nonsense), so first the file must plainly not be UTF-8: a file with four
 *   valid UTF-8 characters or more for every invalid sequence is damaged
 *   UTF-8 (the rows holding the bad bytes fail as data_type); one with four
 *   invalid sequences or more for every valid character is not UTF-8; in
 *   between, the run refuses and asks. A file that is not UTF-8 and decodes
 *   cleanly as nothing is refused, naming the encoding it most looks like.
 * - NUL bytes between ASCII letters without a byte order mark are UTF-16 that
 *   lost its mark: refused, naming the flag to pass.
 *
 * An encoding given with --encoding / SHEET_ENCODING is used as given, unless
 * the file plainly is in another one: invalid bytes in the given encoding
 * while another decodes the whole file cleanly, or a byte order mark that
 * contradicts it. Then the run refuses, saying which encoding to pass.
 *
 * Refusals are CannotRunError (exit 3): nothing has been written yet.
 */
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { CannotRunError } from '../../errors.ts';
import { byteOrderMark, createDecoder, ENCODING_LABEL, firstLoneSurrogate, type Encoding } from './encoding.ts';

export interface EncodingRequest {
  encoding: Encoding;
  /** Where it came from, for messages: `--encoding` or `SHEET_ENCODING`. */
  from: string;
}

export interface EncodingChoice {
  encoding: Encoding;
  /** Bytes of byte order mark to skip. */
  skip: number;
  /** How it was chosen, for the run summary. */
  how: string;
  /** Invalid sequences in the file in this encoding (their rows will fail). */
  invalid: number;
  /** Line of the first invalid sequence, if any. */
  firstInvalidLine: number | null;
}

const PIECE = 1 << 20;

/** Reads the file in pieces. */
async function* bytesOf(file: string, from = 0): AsyncGenerator<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    let position = from;
    for (;;) {
      const buffer = Buffer.allocUnsafe(PIECE);
      const { bytesRead } = await handle.read(buffer, 0, PIECE, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** Whether the whole file (after `skip` bytes) is valid UTF-8, with Node's validator. */
async function validUtf8(file: string, skip: number): Promise<boolean> {
  let carry = Buffer.alloc(0);
  for await (const piece of bytesOf(file, skip)) {
    const buf = carry.length > 0 ? Buffer.concat([carry, piece]) : Buffer.from(piece);
    // Hold back a sequence the piece does not finish (at most 3 bytes).
    let end = buf.length;
    for (let k = 1; k <= Math.min(3, buf.length); k++) {
      const b = buf[buf.length - k]!;
      if ((b & 0xc0) === 0x80) continue;
      const needs = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if (needs > k) end = buf.length - k;
      break;
    }
    if (!isUtf8(buf.subarray(0, end))) return false;
    carry = Buffer.from(buf.subarray(end));
  }
  return carry.length === 0;
}

interface Fit {
  encoding: Encoding;
  invalid: number;
  firstInvalidLine: number | null;
  /** Characters beyond ASCII it decoded (what counts as evidence for an encoding). */
  decoded: number;
}

/** Decodes the whole file in `encoding`, counting invalid sequences and finding the line of the first. */
async function fit(file: string, encoding: Encoding, skip: number): Promise<Fit> {
  const decoder = createDecoder(encoding);
  let lines = 1;
  let lastWasCr = false;
  let firstInvalidLine: number | null = null;
  let decoded = 0;
  const scan = (text: string) => {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      // Low surrogates (and INVALID, one of them) are not counted: a pair counts once, by its high half.
      if (c >= 0x80 && (c < 0xdc00 || c > 0xdfff)) decoded++;
    }
    if (firstInvalidLine === null) {
      const at = firstLoneSurrogate(text);
      const upto = at < 0 ? text.length : at;
      for (let i = 0; i < upto; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x0a) {
          if (!lastWasCr) lines++;
          lastWasCr = false;
        } else if (c === 0x0d) {
          lines++;
          lastWasCr = true;
        } else lastWasCr = false;
      }
      if (at >= 0) firstInvalidLine = lines;
    }
  };
  for await (const piece of bytesOf(file, skip)) scan(decoder.decode(piece, false));
  scan(decoder.decode(new Uint8Array(0), true));
  return { encoding, invalid: decoder.invalid, firstInvalidLine, decoded };
}

/** NUL bytes in the first 4 KB, on even and on odd offsets: ASCII text in UTF-16 has them on one side. */
async function utf16Hint(file: string): Promise<Encoding | null> {
  // Returning from inside for-await closes the generator (and its file handle).
  for await (const piece of bytesOf(file)) {
    const head = piece.subarray(0, 4096);
    let even = 0;
    let odd = 0;
    for (let i = 0; i < head.length; i++) {
      if (head[i] !== 0) continue;
      if (i % 2 === 0) even++;
      else odd++;
    }
    const half = head.length / 2;
    if (half >= 2 && odd > half * 0.3 && even < half * 0.05) return 'utf-16le';
    if (half >= 2 && even > half * 0.3 && odd < half * 0.05) return 'utf-16be';
    return null;
  }
  return null;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

function describeFit(f: Fit): string {
  return `${plural(f.invalid, 'invalid byte sequence')}${f.firstInvalidLine !== null ? `, the first on line ${f.firstInvalidLine}` : ''}`;
}

/** Decides the encoding of `file`, or refuses (CannotRunError). */
export async function chooseEncoding(file: string, requested: EncodingRequest | null): Promise<EncodingChoice> {
  const pieces = bytesOf(file);
  const head = (await pieces.next()).value ?? new Uint8Array(0);
  await pieces.return(undefined);
  const bom = byteOrderMark(head);

  if (bom) {
    if (requested && requested.encoding !== bom.encoding) {
      throw new CannotRunError(
        `the sheet export ${file} starts with a ${ENCODING_LABEL[bom.encoding]} byte order mark, but ${requested.from} says ${ENCODING_LABEL[requested.encoding]}: ` +
          `remove ${requested.from} (the mark says how the file is encoded), or export the file again`,
      );
    }
    const f = await fit(file, bom.encoding, bom.length);
    return { encoding: bom.encoding, skip: bom.length, how: 'byte order mark', invalid: f.invalid, firstInvalidLine: f.firstInvalidLine };
  }

  if (requested) {
    const f = requested.encoding === 'utf-8' && (await validUtf8(file, 0)) ? { encoding: 'utf-8' as const, invalid: 0, firstInvalidLine: null, decoded: 0 } : await fit(file, requested.encoding, 0);
    if (f.invalid > 0) {
      const clean = await cleanAlternative(file, requested.encoding);
      if (clean) {
        throw new CannotRunError(
          `the sheet export ${file} is not valid ${ENCODING_LABEL[requested.encoding]} as ${requested.from} says (${describeFit(f)}), ` +
            `but it is valid ${ENCODING_LABEL[clean]}: pass --encoding ${clean} (or set SHEET_ENCODING=${clean}); nothing was written`,
        );
      }
    }
    return { encoding: requested.encoding, skip: 0, how: requested.from, invalid: f.invalid, firstInvalidLine: f.firstInvalidLine };
  }

  const utf16 = await utf16Hint(file);
  if (utf16) {
    throw new CannotRunError(
      `the sheet export ${file} looks like ${ENCODING_LABEL[utf16]} without a byte order mark (NUL bytes between the letters): ` +
        `pass --encoding ${utf16} (or set SHEET_ENCODING=${utf16}); nothing was written`,
    );
  }
  if (await validUtf8(file, 0)) return { encoding: 'utf-8', skip: 0, how: 'detected', invalid: 0, firstInvalidLine: null };

  /*
   * Not valid UTF-8. Much UTF-8 Japanese also decodes without an error as
   * Shift_JIS (into nonsense), so a clean Shift_JIS reading proves nothing by
   * itself; what tells them apart is how much of the file is valid UTF-8:
   * damaged UTF-8 has valid multi-byte characters by the thousand and a few
   * bad sequences, a real Shift_JIS file the other way round.
   */
  const [utf8, sjis, eucjp] = await Promise.all([fit(file, 'utf-8', 0), fit(file, 'shift_jis', 0), fit(file, 'euc-jp', 0)]);
  if (utf8.decoded >= 4 * utf8.invalid) {
    return { encoding: 'utf-8', skip: 0, how: 'detected', invalid: utf8.invalid, firstInvalidLine: utf8.firstInvalidLine };
  }
  if (utf8.invalid < 4 * utf8.decoded) {
    throw new CannotRunError(
      `the sheet export ${file} is not valid UTF-8 (${describeFit(utf8)}), yet ${plural(utf8.decoded, 'character')} in it are; ` +
        `it is unclear whether it is damaged UTF-8 or another encoding: pass --encoding utf-8 or --encoding ${[sjis, eucjp].sort((a, b) => a.invalid - b.invalid)[0]!.encoding} ` +
        '(or set SHEET_ENCODING); nothing was written',
    );
  }
  if (sjis.invalid === 0 && eucjp.invalid === 0) {
    throw new CannotRunError(
      `the sheet export ${file} is not UTF-8 (${describeFit(utf8)}), and it reads as Shift_JIS and as EUC-JP alike: ` +
        'pass --encoding shift_jis (Excel on a Japanese Windows) or --encoding euc-jp (or set SHEET_ENCODING); nothing was written',
    );
  }
  if (sjis.invalid === 0) return { encoding: 'shift_jis', skip: 0, how: 'detected', invalid: 0, firstInvalidLine: null };
  if (eucjp.invalid === 0) return { encoding: 'euc-jp', skip: 0, how: 'detected', invalid: 0, firstInvalidLine: null };
  const best = [sjis, eucjp].sort((a, b) => a.invalid - b.invalid)[0]!;
  throw new CannotRunError(
    `the sheet export ${file} is not valid UTF-8 (${describeFit(utf8)}) nor any other encoding buyer-sync knows; ` +
      `it reads best as ${ENCODING_LABEL[best.encoding]} (${describeFit(best)}): pass --encoding ${best.encoding} to read it so ` +
      `(the rows with invalid bytes will fail), or export it again as UTF-8; nothing was written`,
  );
}

/** Another encoding that decodes the whole file without an error, if one does. */
async function cleanAlternative(file: string, not: Encoding): Promise<Encoding | null> {
  if (not !== 'utf-8' && (await validUtf8(file, 0))) return 'utf-8';
  for (const e of ['shift_jis', 'euc-jp'] as const) {
    if (e === not) continue;
    if ((await fit(file, e, 0)).invalid === 0) return e;
  }
  return null;
}
