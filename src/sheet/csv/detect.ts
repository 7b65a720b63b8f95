/**
 * Which encoding a CSV export is in, decided from the whole file before a
 * row is read, and never a silent guess.
 *
 * The evidence for UTF-8 is its multi-byte characters beyond U+07FF (kana,
 * kanji, Hangul, most of Unicode): three or four bytes in a pattern no other
 * encoding produces by chance. Two-byte UTF-8 characters (accented Latin,
 * Greek, Cyrillic…) prove little: pairs of Shift_JIS half-width katakana
 * (ﾏｷ) are valid two-byte UTF-8 too.
 *
 * The evidence for a legacy encoding is that it reads the whole file
 * cleanly (no invalid byte) AND the text it reads is the language the
 * encoding is for. Clean alone proves little: GB18030 and Windows-1252 read
 * almost any bytes, and EUC-KR, GBK and EUC-JP share their byte ranges (a
 * Korean 김민준 is clean EUC-JP for 沿肯層). So:
 *
 * - Shift_JIS, EUC-JP: the text holds kana (a run of kanji or symbols alone
 *   is what Korean and Chinese read as); half-width katakana count only as
 *   words of their own, not scattered between other characters (which is
 *   what Korean or Chinese bytes read as Shift_JIS look like) nor glued to
 *   Latin letters (Latin-1 É read as Shift_JIS is ﾉ: ﾉLODIE).
 * - EUC-KR (CP949): nine in ten of its letters are Hangul (syllables, nearly
 *   all among the 2,350 common ones of KS X 1001, or bare letters such as
 *   ㅋㅋ), three in ten or more of the syllables among the frequent ones of
 *   Korean text (common.ts), and no kana. EUC-JP's hiragana are the same
 *   bytes as those bare letters, so a file that reads as both is refused
 *   naming both.
 * - GBK: nine in ten of its letters are among the 6,763 hanzi of GB2312,
 *   three in ten or more among the frequent ones of Chinese text, and no
 *   kana (EUC-JP kana are GB2312 kana too).
 * - Big5: nine in ten of its letters are among its 5,401 common hanzi, three
 *   in ten or more among the frequent ones of traditional Chinese, and no
 *   kana.
 *
 * The frequency rule is what tells languages that share byte ranges apart:
 * another language's bytes read in these tables are characters picked
 * without regard to use (kanji-only EUC-JP read as GBK), mostly rare ones.
 * - Windows-1252: nine in ten of its letters are accented Latin letters next
 *   to a plain Latin letter (Renée, Müller: accents inside Latin words).
 *
 * Korean read as GBK or Big5 is all common hanzi, but only those of one
 * range of the tables (pinyin a to r, in GB2312): a clean EUC-KR reading that
 * is nine tenths Hangul (eight syllables or more), mostly frequent ones, is taken over those readings
 * and over a Japanese reading whose only kana are half-width. Any other
 * tie is refused, naming each encoding that fits.
 *
 * - A byte order mark decides: UTF-8, UTF-16LE or UTF-16BE. A file that
 *   carries the UTF-8 mark but is plainly not UTF-8 is refused.
 * - Valid UTF-8 is UTF-8, unless nothing in it goes beyond two-byte
 *   characters, some of them beyond Latin-1 (Greek, Cyrillic…), and it also
 *   reads as plausible Shift_JIS: then it is ambiguous (half-width katakana,
 *   or Greek?) and refused.
 * - A file that is not valid UTF-8 is damaged UTF-8 when it has four UTF-8
 *   characters beyond U+07FF or more for every invalid sequence (the rows
 *   holding the bad bytes fail as data_type); it is plainly not UTF-8 when it
 *   has four invalid sequences or more for every such character; in between,
 *   the run refuses and asks.
 * - A file plainly not UTF-8 is in the one legacy encoding whose reading is
 *   clean and plausible; two or more: refused naming them; none: refused,
 *   suggesting nothing it cannot back (export again as UTF-8). A legacy file
 *   with a line that is valid UTF-8 beyond U+07FF mixes encodings (an export
 *   with rows appended by another program) and is refused rather than turned
 *   into nonsense.
 * - NUL bytes on one side of the byte pairs without a byte order mark are
 *   UTF-16 that lost its mark: refused, naming the flag to pass.
 *
 * An encoding given with --encoding / SHEET_ENCODING is used as given, unless
 * the file plainly is in another one: valid UTF-8 with characters beyond
 * U+07FF (or, for Windows-1252, any character beyond ASCII), invalid bytes
 * in the given encoding while another reads the whole file cleanly and
 * plausibly, a clean reading that is not the given encoding's language while
 * another is plainly the file's (Shift_JIS on a Korean file), or a byte order
 * mark that contradicts it. Then the run refuses, saying which encoding to
 * pass.
 *
 * Refusals are CannotRunError (exit 3): nothing has been written yet.
 */
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { CannotRunError } from '../../errors.ts';
import { bytesOf, PIECE } from './bytes.ts';
import iconv from 'iconv-lite';
import { COMMON_HANGUL, COMMON_HANZI_SIMPLIFIED, COMMON_HANZI_TRADITIONAL } from './common.ts';
import { byteOrderMark, createDecoder, ENCODING_LABEL, firstLoneSurrogate, type Encoding } from './encoding.ts';
import { quotedPath } from '../../paths.ts';

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
  /** What the text it reads looks like (the language evidence). */
  looks: Looks;
}

/** Code points that are characters of a table region, decoded by iconv-lite pair by pair: a bitmap over the BMP. */
function region(
  codec: string,
  leads: [number, number],
  trails: [number, number][],
  keep: (cp: number) => boolean,
): Uint8Array {
  const bytes: number[] = [];
  for (let l = leads[0]; l <= leads[1]; l++) {
    for (const [lo, hi] of trails) for (let t = lo; t <= hi; t++) bytes.push(l, t, 0x2c); // a comma after each: an unassigned pair cannot shift the next
  }
  const bits = new Uint8Array(0x10000);
  for (const ch of iconv.decode(Buffer.from(bytes), codec)) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x10000 && keep(cp)) bits[cp] = 1;
  }
  return bits;
}

const isHanzi = (c: number) =>
  (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff);
const isHangul = (c: number) => c >= 0xac00 && c <= 0xd7a3;
const isFullKana = (c: number) => c >= 0x3041 && c <= 0x30ff && c !== 0x30fb; // hiragana and katakana (not the middle dot)
const isHalfKana = (c: number) => c >= 0xff66 && c <= 0xff9f;
const isAsciiLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** The letters of Windows-1252 beyond ASCII: À-ÿ (not × ÷), Š š Œ œ Ž ž Ÿ. */
const isLatinLetter = (c: number) =>
  (c >= 0xc0 && c <= 0xff && c !== 0xd7 && c !== 0xf7) ||
  c === 0x160 ||
  c === 0x161 ||
  c === 0x152 ||
  c === 0x153 ||
  c === 0x17d ||
  c === 0x17e ||
  c === 0x178;
const LETTER = /[\p{L}\p{Co}]/u;
/** Whether each BMP code unit is a letter (or private use): 0 not yet known, 1 yes, 2 no. */
const letterCache = new Uint8Array(0x10000);
function isLetter(c: number): boolean {
  let k = letterCache[c]!;
  if (k === 0) letterCache[c] = k = LETTER.test(String.fromCharCode(c)) ? 1 : 2;
  return k === 1;
}
/** A set of characters as a bitmap over the BMP. */
function bitmap(chars: Set<string>): Uint8Array {
  const bits = new Uint8Array(0x10000);
  for (const ch of chars) if (ch.length === 1) bits[ch.charCodeAt(0)] = 1;
  return bits;
}

let regions: {
  ks: Uint8Array;
  gb: Uint8Array;
  big5: Uint8Array;
  hangul: Uint8Array;
  simplified: Uint8Array;
  traditional: Uint8Array;
} | null = null;
/** The common Hangul of KS X 1001, the hanzi of GB2312, the common hanzi of Big5 (built once, when first needed). */
function commonCharacters() {
  return (regions ??= {
    ks: region('cp949', [0xb0, 0xc8], [[0xa1, 0xfe]], isHangul),
    gb: region('gb18030', [0xb0, 0xf7], [[0xa1, 0xfe]], isHanzi),
    big5: region(
      'cp950',
      [0xa4, 0xc6],
      [
        [0x40, 0x7e],
        [0xa1, 0xfe],
      ],
      isHanzi,
    ),
    hangul: bitmap(COMMON_HANGUL),
    simplified: bitmap(COMMON_HANZI_SIMPLIFIED),
    traditional: bitmap(COMMON_HANZI_TRADITIONAL),
  });
}

/**
 * What a reading of the file looks like: counts of its characters beyond
 * ASCII by script, the evidence for (or against) each encoding's language.
 */
export class Looks {
  /** Letters beyond ASCII (and private-use characters): the denominator of every share. */
  letters = 0;
  fullKana = 0;
  halfKana = 0;
  /** Half-width katakana next to a character beyond ASCII that is not one (scattered, not a word of its own). */
  halfKanaScattered = 0;
  /** Letters a Japanese text is made of: kana, kanji, full-width Latin, 々. */
  japanese = 0;
  hangul = 0;
  /** Bare Hangul letters (ㅋㅋ): Korean too (EUC-JP reads the same bytes as hiragana). */
  jamo = 0;
  /** Hangul syllables among the 2,350 of KS X 1001. */
  commonHangul = 0;
  /** Of those, among the frequent syllables of Korean text (common.ts). */
  frequentHangul = 0;
  gb2312 = 0;
  /** Of those, among the frequent hanzi of simplified Chinese text. */
  frequentGb = 0;
  big5 = 0;
  /** Of those, among the frequent hanzi of traditional Chinese text. */
  frequentBig5 = 0;
  /** Accented Latin letters next to a plain Latin letter. */
  latinInWords = 0;
  private prev = 0x0a;
  private cur = -1;
  private readonly tables = commonCharacters();

  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.cur >= 0) {
        if (this.cur >= 0x80) this.judge(this.prev, this.cur, c);
        this.prev = this.cur;
      }
      this.cur = c;
    }
  }

  end(): void {
    if (this.cur >= 0x80) this.judge(this.prev, this.cur, 0x0a);
    this.cur = -1;
  }

  get kana(): number {
    return this.fullKana + this.halfKana;
  }

  private judge(p: number, c: number, n: number): void {
    if (c >= 0xd800 && c <= 0xdfff) return; // surrogates (and INVALID): not letters of any legacy reading
    if (!isLetter(c)) return;
    this.letters++;
    const t = this.tables;
    if (isFullKana(c) || c === 0x30fc) {
      if (c !== 0x30fc) this.fullKana++;
      this.japanese++;
    } else if (isHalfKana(c)) {
      this.halfKana++;
      this.japanese++;
      // Glued to a plain Latin letter (ﾉLODIE: Latin-1 É read as Shift_JIS) or to another script: not a katakana word.
      const alien = (x: number) => (x >= 0x80 && !(x >= 0xff61 && x <= 0xff9f) && x !== 0x3000) || isAsciiLetter(x);
      if (alien(p) || alien(n)) this.halfKanaScattered++;
    } else if (isHanzi(c)) {
      this.japanese++;
      if (t.gb[c]) {
        this.gb2312++;
        if (t.simplified[c]) this.frequentGb++;
      }
      if (t.big5[c]) {
        this.big5++;
        if (t.traditional[c]) this.frequentBig5++;
      }
    } else if (isHangul(c)) {
      this.hangul++;
      if (t.ks[c]) this.commonHangul++;
      if (t.hangul[c]) this.frequentHangul++;
    } else if (c >= 0x3131 && c <= 0x318e) {
      this.jamo++;
    } else if ((c >= 0xff21 && c <= 0xff3a) || (c >= 0xff41 && c <= 0xff5a) || c === 0x3005) {
      this.japanese++;
    } else if (isLatinLetter(c) && (isAsciiLetter(p) || isAsciiLetter(n))) {
      this.latinInWords++;
    }
  }
}

const LEGACY = ['shift_jis', 'euc-jp', 'euc-kr', 'gbk', 'big5', 'windows-1252'] as const;
type Legacy = (typeof LEGACY)[number];
const isLegacy = (e: Encoding): e is Legacy => (LEGACY as readonly string[]).includes(e);

/** Whether a clean reading is the language its encoding is for (see the comment at the top). */
export function plausible(encoding: Encoding, f: Pick<Fit, 'invalid' | 'looks'>): boolean {
  const l = f.looks;
  if (f.invalid > 0) return false;
  const most = (n: number) => n >= 1 && n >= 0.9 * l.letters;
  switch (encoding) {
    case 'shift_jis':
    case 'euc-jp':
      return most(l.japanese) && (l.fullKana > 0 || (l.halfKana > 0 && l.halfKanaScattered <= 0.1 * l.halfKana));
    case 'euc-kr':
      return (
        l.kana === 0 &&
        l.hangul > 0 &&
        most(l.hangul + l.jamo) &&
        l.commonHangul >= 0.9 * l.hangul &&
        l.frequentHangul >= FREQUENT * l.hangul
      );
    case 'gbk':
      return l.kana === 0 && most(l.gb2312) && l.frequentGb >= FREQUENT * l.gb2312;
    case 'big5':
      return l.kana === 0 && most(l.big5) && l.frequentBig5 >= FREQUENT * l.big5;
    case 'windows-1252':
      return most(l.latinInWords);
    default:
      return true;
  }
}

/**
 * The share of a Korean or Chinese reading's characters that must be among
 * the language's frequent ones (common.ts): real text has well over half,
 * another language's bytes read in its tables about one in ten.
 */
const FREQUENT = 0.3;

/** A clean EUC-KR reading that is plainly Korean: it outweighs GBK, Big5 and half-width-only Shift_JIS/EUC-JP readings. */
const plainlyKorean = (f: Fit) => plausible('euc-kr', f) && f.looks.hangul >= KOREAN_EVIDENCE;
/**
 * Hangul syllables a file needs before its Korean reading outweighs the
 * others. Chinese (GB2312) or kanji-only EUC-JP text reads as Hangul only
 * where every character falls in the range that does (about six in ten
 * each), and then as rare syllables, which the frequency rule turns away.
 */
const KOREAN_EVIDENCE = 8;

/** The legacy encodings whose reading of the file is clean and plausible, after the Korean rule. */
function plausibleReadings(fits: Fit[]): Fit[] {
  let found = fits.filter((f) => plausible(f.encoding, f));
  const korean = found.find((f) => f.encoding === 'euc-kr');
  if (korean && plainlyKorean(korean)) {
    found = found.filter(
      (f) =>
        f.encoding === 'euc-kr' || ((f.encoding === 'shift_jis' || f.encoding === 'euc-jp') && f.looks.fullKana > 0),
    );
  }
  return found;
}

/** What each encoding is, for the flags a refusal names. */
const WHAT: Record<Encoding, string> = {
  'utf-8': 'UTF-8',
  'utf-16le': 'UTF-16LE',
  'utf-16be': 'UTF-16BE',
  shift_jis: 'Japanese, Excel on Windows',
  'euc-jp': 'Japanese, older Unix and web systems',
  'euc-kr': 'Korean',
  gbk: 'simplified Chinese',
  big5: 'traditional Chinese',
  'windows-1252': 'Western European',
};
const flags = (encodings: Encoding[]) => encodings.map((e) => `--encoding ${e} (${WHAT[e]})`).join(' or ');

/** Decodes the file in `encoding`, counting invalid sequences and characters; `untilWide` stops at the first wide one. */
async function fit(
  file: string,
  encoding: Encoding,
  skip: number,
  signal?: AbortSignal,
  untilWide = false,
  untilInvalid = false,
): Promise<Fit> {
  const decoder = createDecoder(encoding);
  let lines = 1;
  let lastWasCr = false;
  let firstInvalidLine: number | null = null;
  let wide = 0;
  let narrow = 0;
  let beyondLatin1 = 0;
  const looks = new Looks();
  // Only a legacy reading needs its language judged.
  const judged = !untilWide && isLegacy(encoding);
  const scan = (text: string): boolean => {
    if (judged) looks.feed(text);
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
    // `untilInvalid`: a reading with an invalid byte is no candidate; its count need not be complete.
    if (scan(decoder.decode(piece, false)) || (untilInvalid && decoder.invalid > 0)) {
      stopped = true;
      break;
    }
  }
  if (!stopped) scan(decoder.decode(new Uint8Array(0), true));
  looks.end();
  return { encoding, invalid: decoder.invalid, firstInvalidLine, wide, narrow, beyondLatin1, looks };
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

/** A refusal of the file: nothing has been written yet. */
function refusal(file: string, what: string): CannotRunError {
  return new CannotRunError(`the sheet export ${quotedPath(file)} ${what}; nothing was written`);
}

/** Decides the encoding of `file`, or refuses (CannotRunError). */
export async function chooseEncoding(
  file: string,
  requested: EncodingRequest | null,
  signal?: AbortSignal,
): Promise<EncodingChoice> {
  const pieces = bytesOf(file, 0, signal);
  const head = (await pieces.next()).value ?? new Uint8Array(0);
  await pieces.return(undefined); // closed: nothing reads into `head` again
  const bom = byteOrderMark(head);
  if (bom) return byMark(file, bom, requested, signal);
  if (requested) return asRequested(file, requested, signal);
  const utf16 = await utf16Hint(file, signal);
  if (utf16) {
    throw refusal(
      file,
      `looks like ${ENCODING_LABEL[utf16]} without a byte order mark (NUL bytes between the letters): pass --encoding ${utf16} (or set SHEET_ENCODING=${utf16})`,
    );
  }
  if (await validUtf8(file, 0, signal)) return validUtf8Choice(file, signal);
  return notValidUtf8Choice(file, signal);
}

/** A byte order mark decides, unless the flag contradicts it, or the file plainly is not the UTF-8 its mark says. */
async function byMark(
  file: string,
  bom: { encoding: Encoding; length: number },
  requested: EncodingRequest | null,
  signal?: AbortSignal,
): Promise<EncodingChoice> {
  if (requested && requested.encoding !== bom.encoding) {
    throw refusal(
      file,
      `starts with a ${ENCODING_LABEL[bom.encoding]} byte order mark, but ${requested.from} says ${ENCODING_LABEL[requested.encoding]}: ` +
        `remove ${requested.from} (the mark says how the file is encoded), or export the file again`,
    );
  }
  const f = await fit(file, bom.encoding, bom.length, signal);
  if (bom.encoding === 'utf-8' && f.invalid > 0 && f.invalid >= 4 * f.wide) {
    const readings = plausibleReadings(await legacyFits(file, bom.length, signal));
    throw refusal(
      file,
      `starts with a UTF-8 byte order mark but is not UTF-8 (${describeFit(f)})${readings.length > 0 ? `; after the mark it reads as ${readings.map((r) => ENCODING_LABEL[r.encoding]).join(' or as ')}` : ''}: ` +
        'the file was changed by a program that kept the mark; export it again',
    );
  }
  return {
    encoding: bom.encoding,
    skip: bom.length,
    how: 'byte order mark',
    invalid: f.invalid,
    firstInvalidLine: f.firstInvalidLine,
  };
}

/** The encoding --encoding or SHEET_ENCODING gives, used as given unless the file plainly is in another one. */
async function asRequested(file: string, requested: EncodingRequest, signal?: AbortSignal): Promise<EncodingChoice> {
  const valid = await validUtf8(file, 0, signal);
  if (requested.encoding !== 'utf-8' && valid) {
    const utf8 = await fit(file, 'utf-8', 0, signal, requested.encoding !== 'windows-1252');
    // Windows-1252 text beyond ASCII is valid UTF-8 only by a freak (Ã followed by a sign): any two-byte character settles it.
    if (utf8.wide > 0 || (requested.encoding === 'windows-1252' && utf8.narrow > 0)) {
      throw refusal(
        file,
        `is valid UTF-8 with characters no ${ENCODING_LABEL[requested.encoding]} file holds by chance, but ${requested.from} says ${ENCODING_LABEL[requested.encoding]}: ` +
          `remove ${requested.from} (or pass --encoding utf-8)`,
      );
    }
  }
  const f = requested.encoding === 'utf-8' && valid ? null : await fit(file, requested.encoding, 0, signal);
  if (f && f.invalid > 0) {
    const clean = await plausibleAlternatives(file, requested.encoding, signal);
    if (clean.length > 0) {
      throw refusal(
        file,
        `is not valid ${ENCODING_LABEL[requested.encoding]} as ${requested.from} says (${describeFit(f)}), but it is valid ${clean.map((e) => ENCODING_LABEL[e]).join(' or ')}: ` +
          `pass ${clean.map((e) => `--encoding ${e}`).join(' or ')} (or set SHEET_ENCODING=${clean[0]})`,
      );
    }
  } else if (f && isLegacy(requested.encoding) && !plausible(requested.encoding, f)) {
    await refuseOtherLanguage(file, requested.encoding, requested.from, signal);
  }
  return {
    encoding: requested.encoding,
    skip: 0,
    how: requested.from,
    invalid: f?.invalid ?? 0,
    firstInvalidLine: f?.firstInvalidLine ?? null,
  };
}

/** A clean reading that is not its encoding's language (Korean bytes read as kanji by EUC-JP) is refused only when another encoding plainly is the file's. */
async function refuseOtherLanguage(file: string, given: Legacy, from: string, signal?: AbortSignal): Promise<void> {
  const others = plausibleReadings(await legacyFits(file, 0, signal)).filter((r) => r.encoding !== given);
  if (others.length !== 1) return;
  const right = others[0]!.encoding;
  throw refusal(
    file,
    `reads as ${ENCODING_LABEL[given]} as ${from} says, but not as ${WHAT[given]} text (${lacking(given)}), ` +
      `while it reads cleanly as ${ENCODING_LABEL[right]} (${WHAT[right]}): pass --encoding ${right} (or set SHEET_ENCODING=${right})`,
  );
}

/** A file that is valid UTF-8 is UTF-8, unless it reads as Shift_JIS half-width katakana just as well. */
async function validUtf8Choice(file: string, signal?: AbortSignal): Promise<EncodingChoice> {
  const utf8 = await fit(file, 'utf-8', 0, signal, true);
  /*
   * Nothing beyond two-byte characters: the same bytes may be Shift_JIS
   * half-width katakana. Latin-1 letters and signs (¥, é, ü) are what
   * UTF-8 text holds; as katakana they would be only pairs beginning with
   * ﾂ or ﾃ, which no Japanese text is. Beyond Latin-1 (Greek, Cyrillic…)
   * the two readings are equally likely: the operator says which.
   */
  if (utf8.wide === 0 && utf8.beyondLatin1 > 0 && plausible('shift_jis', await fit(file, 'shift_jis', 0, signal))) {
    throw refusal(
      file,
      `reads as UTF-8 (Greek, Cyrillic or other letters beyond Latin-1?) and as Shift_JIS (half-width katakana?) alike: pass --encoding utf-8 or --encoding shift_jis ` +
        '(or set SHEET_ENCODING)',
    );
  }
  return { encoding: 'utf-8', skip: 0, how: 'detected', invalid: 0, firstInvalidLine: null };
}

/** A file that is not valid UTF-8: damaged UTF-8, the one legacy encoding that reads it as its language, or refused. */
async function notValidUtf8Choice(file: string, signal?: AbortSignal): Promise<EncodingChoice> {
  const [utf8, fits] = await Promise.all([fit(file, 'utf-8', 0, signal), legacyFits(file, 0, signal)]);
  if (utf8.wide >= 4 * utf8.invalid) {
    return {
      encoding: 'utf-8',
      skip: 0,
      how: 'detected',
      invalid: utf8.invalid,
      firstInvalidLine: utf8.firstInvalidLine,
    };
  }
  const readings = plausibleReadings(fits).map((r) => r.encoding);
  if (utf8.invalid < 4 * utf8.wide) {
    throw refusal(
      file,
      `is not valid UTF-8 (${describeFit(utf8)}), yet ${plural(utf8.wide, 'character')} in it are; it is unclear whether it is damaged UTF-8 or ` +
        `another encoding: pass ${flags(['utf-8', ...readings])} (or set SHEET_ENCODING)`,
    );
  }
  if (readings.length > 1) {
    throw refusal(
      file,
      `is not UTF-8 (${describeFit(utf8)}), and it reads as ${readings.map((e) => ENCODING_LABEL[e]).join(' and as ')} alike: ` +
        `pass ${flags(readings)} (or set SHEET_ENCODING)`,
    );
  }
  const best = readings[0];
  await refuseMixed(file, best, utf8, signal);
  if (best === undefined) {
    throw refusal(
      file,
      `is not valid UTF-8 (${describeFit(utf8)}), and no encoding buyer-sync knows reads it as text of its own language ` +
        '(Shift_JIS or EUC-JP with kana, EUC-KR with Hangul, GBK or Big5 with common Chinese characters, Windows-1252 with accented letters in Latin words): ' +
        'export it again as UTF-8 (Google Sheets: File > Download > CSV; Excel: "CSV UTF-8"), or pass --encoding with the encoding it was written in',
    );
  }
  return { encoding: best, skip: 0, how: 'detected', invalid: 0, firstInvalidLine: null };
}

/** A line of UTF-8 beyond U+07FF in a Japanese file (or in one that reads as nothing): rows appended by another program. */
async function refuseMixed(file: string, best: Encoding | undefined, utf8: Fit, signal?: AbortSignal): Promise<void> {
  const mixed = best === undefined || best === 'shift_jis' || best === 'euc-jp' ? await utf8Line(file, signal) : null;
  if (mixed === null) return;
  // The rest of the file is named only on the evidence of its language (its reading is unclean: the UTF-8 line is in it).
  const full = best === undefined ? await legacyFits(file, 0, signal, false) : [];
  const rest =
    best ??
    full.filter((f) => plausible(f.encoding, { ...f, invalid: 0 })).sort((a, b) => a.invalid - b.invalid)[0]?.encoding;
  throw refusal(
    file,
    `${rest ? `is ${ENCODING_LABEL[rest]}, but line ${mixed} is UTF-8` : `is not UTF-8 (${describeFit(utf8)}), but line ${mixed} is`} (rows added by another program?): ` +
      'the file mixes encodings; export it again in one',
  );
}

/** The file read in every legacy encoding, from `skip`; `untilInvalid`: a reading stops at its first invalid byte (it is no candidate). */
function legacyFits(file: string, skip: number, signal?: AbortSignal, untilInvalid = true): Promise<Fit[]> {
  return Promise.all(LEGACY.map((e) => fit(file, e, skip, signal, false, untilInvalid)));
}

/** What a reading lacks to be its encoding's language, for a refusal. */
function lacking(encoding: Legacy): string {
  switch (encoding) {
    case 'shift_jis':
    case 'euc-jp':
      return 'no kana in it';
    case 'euc-kr':
      return 'few Hangul syllables';
    case 'gbk':
    case 'big5':
      return 'few common Chinese characters';
    case 'windows-1252':
      return 'no accented letters inside Latin words';
  }
}

/** Other encodings that read the whole file cleanly and plausibly (UTF-8: validly), if any do. */
async function plausibleAlternatives(file: string, not: Encoding, signal?: AbortSignal): Promise<Encoding[]> {
  if (not !== 'utf-8' && (await validUtf8(file, 0, signal))) return ['utf-8'];
  return plausibleReadings(await legacyFits(file, 0, signal))
    .map((r) => r.encoding)
    .filter((e) => e !== not);
}
