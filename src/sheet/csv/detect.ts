/**
 * Which encoding a CSV export is in, decided from the whole file before a
 * row is read, and never a silent guess.
 *
 * The evidence for UTF-8 is its multi-byte characters beyond U+07FF (kana,
 * kanji, most of Unicode): three or four bytes in a pattern no other encoding
 * produces by chance. Two-byte UTF-8 characters (accented Latin, Greek,
 * Cyrillic…) prove little: pairs of Shift_JIS half-width katakana (ﾏｷ) are
 * valid two-byte UTF-8 too.
 *
 * - A byte order mark decides: UTF-8, UTF-16LE or UTF-16BE. A file that
 *   carries the UTF-8 mark but is plainly not UTF-8 is refused.
 * - Valid UTF-8 is UTF-8, unless nothing in it goes beyond two-byte
 *   characters, some of them beyond Latin-1 (Greek, Cyrillic…), and it also
 *   reads cleanly as Shift_JIS: then it is ambiguous (half-width katakana, or
 *   Greek?) and refused.
 * - A file that is not valid UTF-8 is damaged UTF-8 when it has four UTF-8
 *   characters beyond U+07FF or more for every invalid sequence (the rows
 *   holding the bad bytes fail as data_type); it is plainly not UTF-8 when it
 *   has four invalid sequences or more for every such character; in between,
 *   the run refuses and asks.
 * - A file plainly not UTF-8 that reads cleanly as Shift_JIS (Excel's "CSV"
 *   on a Japanese Windows) and not as EUC-JP is Shift_JIS; the other way
 *   round, EUC-JP; both, ambiguous and refused; neither, refused naming the
 *   closest. A legacy file with a line that is valid UTF-8 Japanese mixes
 *   encodings (an export with rows appended by another program) and is
 *   refused rather than turned into nonsense.
 * - NUL bytes on one side of the byte pairs without a byte order mark are
 *   UTF-16 that lost its mark: refused, naming the flag to pass.
 *
 * An encoding given with --encoding / SHEET_ENCODING is used as given, unless
 * the file plainly is in another one: valid UTF-8 with characters beyond
 * U+07FF, invalid bytes in the given encoding while another decodes the whole
 * file cleanly, or a byte order mark that contradicts it. Then the run
 * refuses, saying which encoding to pass.
 *
 * Refusals are CannotRunError (exit 3): nothing has been written yet.
 */
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { CannotRunError } from '../../errors.ts';
import { bytesOf, PIECE } from './bytes.ts';
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


/** Bytes at the end of `buf` that begin a UTF-8 sequence the piece does not finish. */
function unfinishedTail(buf: Uint8Array): number {
  for (let k = 1; k <= Math.min(3, buf.length); k++) {
    const b = buf[buf.length - k]!;
    if ((b & 0xc0) === 0x80) continue;
    const needs = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return needs > k ? k : 0;
  }
  return 0;
}

/** Whether the whole file (after `skip` bytes) is valid UTF-8, with Node's validator. */
async function validUtf8(file: string, skip: number, signal?: AbortSignal): Promise<boolean> {
  // One buffer for the whole file: a character cut at a piece's end moves to the front and is read on with the next.
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(PIECE + 4);
    let carry = 0;
    let position = skip;
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buf, carry, PIECE, position);
      if (bytesRead === 0) return carry === 0;
      position += bytesRead;
      const length = carry + bytesRead;
      const end = length - unfinishedTail(buf.subarray(0, length));
      if (!isUtf8(buf.subarray(0, end))) return false;
      buf.copyWithin(0, end, length);
      carry = length - end;
    }
  } finally {
    await handle.close();
  }
}

interface Fit {
  encoding: Encoding;
  invalid: number;
  firstInvalidLine: number | null;
  /** Characters beyond U+07FF it decoded (the evidence a UTF-8 reading has). */
  wide: number;
  /** Characters U+0080 to U+07FF it decoded. */
  narrow: number;
  /** Of those, beyond Latin-1 (U+0100 to U+07FF: Greek, Cyrillic, Armenian…). */
  beyondLatin1: number;
}

/** Decodes the file in `encoding`, counting invalid sequences and characters; `untilWide` stops at the first wide one. */
async function fit(file: string, encoding: Encoding, skip: number, signal?: AbortSignal, untilWide = false): Promise<Fit> {
  const decoder = createDecoder(encoding);
  let lines = 1;
  let lastWasCr = false;
  let firstInvalidLine: number | null = null;
  let wide = 0;
  let narrow = 0;
  let beyondLatin1 = 0;
  const scan = (text: string): boolean => {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) continue;
      // Low surrogates (and INVALID, one of them) are not counted: a pair counts once, by its high half.
      if (c < 0x800) {
        narrow++;
        if (c >= 0x100) beyondLatin1++;
      } else if (c < 0xdc00 || c > 0xdfff) wide++;
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
    return untilWide && wide > 0;
  };
  let stopped = false;
  for await (const piece of bytesOf(file, skip, signal)) {
    if (scan(decoder.decode(piece, false))) {
      stopped = true;
      break;
    }
  }
  if (!stopped) scan(decoder.decode(new Uint8Array(0), true));
  return { encoding, invalid: decoder.invalid, firstInvalidLine, wide, narrow, beyondLatin1 };
}

/**
 * The first physical line of a legacy-encoded file that is valid UTF-8 with a
 * character beyond U+07FF: text another program wrote in UTF-8 into a
 * Shift_JIS or EUC-JP file. Null when there is none.
 */
async function utf8Line(file: string, signal?: AbortSignal): Promise<number | null> {
  let line = 1;
  let current: Buffer[] = [];
  const check = (bytes: Buffer): boolean => {
    let high = false;
    for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0xe0) high = true;
    return high && isUtf8(bytes);
  };
  for await (const piece of bytesOf(file, 0, signal)) {
    let start = 0;
    for (let i = 0; i < piece.length; i++) {
      const b = piece[i]!;
      if (b !== 0x0a && b !== 0x0d) continue;
      current.push(Buffer.from(piece.subarray(start, i)));
      if (check(Buffer.concat(current))) return line;
      current = [];
      if (!(b === 0x0a && i > 0 && piece[i - 1] === 0x0d)) line++;
      start = i + 1;
    }
    current.push(Buffer.from(piece.subarray(start)));
  }
  return check(Buffer.concat(current)) ? line : null;
}

/** NUL bytes in the first 4 KB on one side of the byte pairs only: ASCII (commas, digits, line breaks) written in UTF-16. */
async function utf16Hint(file: string, signal?: AbortSignal): Promise<Encoding | null> {
  // Returning from inside for-await closes the generator (and its file handle).
  for await (const piece of bytesOf(file, 0, signal)) {
    const head = piece.subarray(0, 4096);
    let even = 0;
    let odd = 0;
    for (let i = 0; i < head.length; i++) {
      if (head[i] !== 0) continue;
      if (i % 2 === 0) even++;
      else odd++;
    }
    const pairs = head.length / 2;
    if (pairs >= 2 && odd >= pairs * 0.05 && even <= pairs * 0.01) return 'utf-16le';
    if (pairs >= 2 && even >= pairs * 0.05 && odd <= pairs * 0.01) return 'utf-16be';
    return null;
  }
  return null;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

function describeFit(f: Fit): string {
  return `${plural(f.invalid, 'invalid byte sequence')}${f.firstInvalidLine !== null ? `, the first on line ${f.firstInvalidLine}` : ''}`;
}

/** Decides the encoding of `file`, or refuses (CannotRunError). */
export async function chooseEncoding(file: string, requested: EncodingRequest | null, signal?: AbortSignal): Promise<EncodingChoice> {
  const pieces = bytesOf(file, 0, signal);
  const head = (await pieces.next()).value ?? new Uint8Array(0);
  await pieces.return(undefined); // closed: nothing reads into `head` again
  const bom = byteOrderMark(head);
  const refuse = (what: string) => new CannotRunError(`the sheet export ${file} ${what}; nothing was written`);

  if (bom) {
    if (requested && requested.encoding !== bom.encoding) {
      throw refuse(
        `starts with a ${ENCODING_LABEL[bom.encoding]} byte order mark, but ${requested.from} says ${ENCODING_LABEL[requested.encoding]}: ` +
          `remove ${requested.from} (the mark says how the file is encoded), or export the file again`,
      );
    }
    const f = await fit(file, bom.encoding, bom.length, signal);
    if (bom.encoding === 'utf-8' && f.invalid > 0 && f.invalid >= 4 * f.wide) {
      const sjis = await fit(file, 'shift_jis', bom.length, signal);
      throw refuse(
        `starts with a UTF-8 byte order mark but is not UTF-8 (${describeFit(f)})${sjis.invalid === 0 ? '; after the mark it reads as Shift_JIS' : ''}: ` +
          'the file was changed by a program that kept the mark; export it again',
      );
    }
    return { encoding: bom.encoding, skip: bom.length, how: 'byte order mark', invalid: f.invalid, firstInvalidLine: f.firstInvalidLine };
  }

  if (requested) {
    const valid = await validUtf8(file, 0, signal);
    if (requested.encoding !== 'utf-8' && valid && (await fit(file, 'utf-8', 0, signal, true)).wide > 0) {
      throw refuse(
        `is valid UTF-8 with characters no ${ENCODING_LABEL[requested.encoding]} file holds by chance, but ${requested.from} says ${ENCODING_LABEL[requested.encoding]}: ` +
          `remove ${requested.from} (or pass --encoding utf-8)`,
      );
    }
    const f = requested.encoding === 'utf-8' && valid ? null : await fit(file, requested.encoding, 0, signal);
    if (f && f.invalid > 0) {
      const clean = await cleanAlternative(file, requested.encoding, signal);
      if (clean) {
        throw refuse(
          `is not valid ${ENCODING_LABEL[requested.encoding]} as ${requested.from} says (${describeFit(f)}), but it is valid ${ENCODING_LABEL[clean]}: ` +
            `pass --encoding ${clean} (or set SHEET_ENCODING=${clean})`,
        );
      }
    }
    return { encoding: requested.encoding, skip: 0, how: requested.from, invalid: f?.invalid ?? 0, firstInvalidLine: f?.firstInvalidLine ?? null };
  }

  const utf16 = await utf16Hint(file, signal);
  if (utf16) {
    throw refuse(`looks like ${ENCODING_LABEL[utf16]} without a byte order mark (NUL bytes between the letters): pass --encoding ${utf16} (or set SHEET_ENCODING=${utf16})`);
  }

  if (await validUtf8(file, 0, signal)) {
    const utf8 = await fit(file, 'utf-8', 0, signal, true);
    /*
     * Nothing beyond two-byte characters: the same bytes may be Shift_JIS
     * half-width katakana. Latin-1 letters and signs (¥, é, ü) are what
     * UTF-8 text holds; as katakana they would be only pairs beginning with
     * ﾂ or ﾃ, which no Japanese text is. Beyond Latin-1 (Greek, Cyrillic…)
     * the two readings are equally likely: the operator says which.
     */
    if (utf8.wide === 0 && utf8.beyondLatin1 > 0 && (await fit(file, 'shift_jis', 0, signal)).invalid === 0) {
      throw refuse(
        `reads as UTF-8 (Greek, Cyrillic or other letters beyond Latin-1?) and as Shift_JIS (half-width katakana?) alike: pass --encoding utf-8 or --encoding shift_jis ` +
          '(or set SHEET_ENCODING)',
      );
    }
    return { encoding: 'utf-8', skip: 0, how: 'detected', invalid: 0, firstInvalidLine: null };
  }

  const [utf8, sjis, eucjp] = await Promise.all([fit(file, 'utf-8', 0, signal), fit(file, 'shift_jis', 0, signal), fit(file, 'euc-jp', 0, signal)]);
  if (utf8.wide >= 4 * utf8.invalid) {
    return { encoding: 'utf-8', skip: 0, how: 'detected', invalid: utf8.invalid, firstInvalidLine: utf8.firstInvalidLine };
  }
  if (utf8.invalid < 4 * utf8.wide) {
    throw refuse(
      `is not valid UTF-8 (${describeFit(utf8)}), yet ${plural(utf8.wide, 'character')} in it are; it is unclear whether it is damaged UTF-8 or ` +
        `another encoding: pass --encoding utf-8 or --encoding ${[sjis, eucjp].sort((a, b) => a.invalid - b.invalid)[0]!.encoding} (or set SHEET_ENCODING)`,
    );
  }
  if (sjis.invalid === 0 && eucjp.invalid === 0) {
    throw refuse(
      `is not UTF-8 (${describeFit(utf8)}), and it reads as Shift_JIS and as EUC-JP alike: ` +
        'pass --encoding shift_jis (Excel on a Japanese Windows) or --encoding euc-jp (or set SHEET_ENCODING)',
    );
  }
  const best = [sjis, eucjp].sort((a, b) => a.invalid - b.invalid)[0]!;
  const mixed = await utf8Line(file, signal);
  if (mixed !== null) {
    throw refuse(
      `is ${ENCODING_LABEL[best.encoding]}, but line ${mixed} is UTF-8 (rows added by another program?): the file mixes encodings; export it again in one`,
    );
  }
  if (best.invalid === 0) return { encoding: best.encoding, skip: 0, how: 'detected', invalid: 0, firstInvalidLine: null };
  throw refuse(
    `is not valid UTF-8 (${describeFit(utf8)}) nor any other encoding buyer-sync knows; it reads best as ${ENCODING_LABEL[best.encoding]} ` +
      `(${describeFit(best)}): pass --encoding ${best.encoding} to read it so (the rows with invalid bytes will fail), or export it again as UTF-8`,
  );
}

/** Another encoding that decodes the whole file without an error, if one does. */
async function cleanAlternative(file: string, not: Encoding, signal?: AbortSignal): Promise<Encoding | null> {
  if (not !== 'utf-8' && (await validUtf8(file, 0, signal))) return 'utf-8';
  for (const e of ['shift_jis', 'euc-jp'] as const) {
    if (e === not) continue;
    if ((await fit(file, e, 0, signal)).invalid === 0) return e;
  }
  return null;
}
