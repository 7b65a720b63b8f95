/**
 * Character encodings of CSV exports, decoded piece by piece by maintained
 * decoders, and never replaced silently.
 *
 * - UTF-8 (with or without a byte order mark): Node's own decoder
 *   (Buffer#toString), after Node's validator (buffer.isUtf8) has passed the
 *   piece. Only a piece that fails is walked byte by byte, to find where its
 *   invalid sequences are.
 * - UTF-16 LE/BE (by their byte order mark): Node's own UTF-16 decoder, which
 *   keeps lone surrogates as they are.
 * - Shift_JIS (CP932, what Excel writes as "CSV" on a Japanese Windows) and
 *   EUC-JP: iconv-lite's decoders (Microsoft's CP932 table, user-defined
 *   characters to the private use area). Not Node's TextDecoder: its ICU
 *   decoders drop some bytes without a trace (EUC-JP's bytes 0x80-0xA0,
 *   CP932's user-defined area), which is exactly what must never happen.
 * - EUC-KR (read as CP949, its Windows superset with every Hangul
 *   syllable), GBK (read as GB18030, its superset), Big5 (read as CP950,
 *   what Windows writes) and Windows-1252 (the superset of Latin-1 that
 *   Excel writes in Western Europe and the Americas): iconv-lite's decoders
 *   too, whose tables agree with Python's codecs byte for byte. Windows-1252
 *   leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D): no text
 *   holds them, so they are invalid like any other undecodable byte (not
 *   the invisible C1 controls a browser would make of them).
 *
 * Multi-byte encodings are decoded piece by piece, each piece cut only
 * between characters (a character a piece does not finish waits for the
 * next one), so where the file is cut never changes what it reads as.
 *
 * Bytes that are not valid in the encoding become INVALID, a lone surrogate:
 * no valid UTF-8, Shift_JIS or EUC-JP decodes to one, and in UTF-16 a lone
 * surrogate is itself the invalid sequence. The row rules fail any cell that
 * holds one as data_type, naming row, column and encoding, so an undecodable
 * byte can never reach the database as U+FFFD.
 */
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { UsageError } from '../../errors.ts';

export const ENCODINGS = [
  'utf-8',
  'utf-16le',
  'utf-16be',
  'shift_jis',
  'euc-jp',
  'euc-kr',
  'gbk',
  'big5',
  'windows-1252',
] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** How the encoding's name reads in messages. */
export const ENCODING_LABEL: Record<Encoding, string> = {
  'utf-8': 'UTF-8',
  'utf-16le': 'UTF-16LE',
  'utf-16be': 'UTF-16BE',
  shift_jis: 'Shift_JIS',
  'euc-jp': 'EUC-JP',
  'euc-kr': 'EUC-KR (CP949)',
  gbk: 'GBK (GB18030)',
  big5: 'Big5',
  'windows-1252': 'Windows-1252 (Latin-1)',
};

/** Stands for a sequence of bytes that is not valid in the file's encoding. */
export const INVALID = '\udfff';

const ALIASES: Record<string, Encoding> = {
  utf8: 'utf-8',
  'utf-8': 'utf-8',
  'utf-8-bom': 'utf-8',
  utf16le: 'utf-16le',
  'utf-16le': 'utf-16le',
  utf16be: 'utf-16be',
  'utf-16be': 'utf-16be',
  shift_jis: 'shift_jis',
  'shift-jis': 'shift_jis',
  sjis: 'shift_jis',
  cp932: 'shift_jis',
  ms932: 'shift_jis',
  'windows-31j': 'shift_jis',
  eucjp: 'euc-jp',
  'euc-jp': 'euc-jp',
  'euc-kr': 'euc-kr',
  euckr: 'euc-kr',
  cp949: 'euc-kr',
  uhc: 'euc-kr',
  gbk: 'gbk',
  gb18030: 'gbk',
  gb2312: 'gbk',
  cp936: 'gbk',
  'euc-cn': 'gbk',
  big5: 'big5',
  cp950: 'big5',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
  latin1: 'windows-1252',
  'latin-1': 'windows-1252',
  'iso-8859-1': 'windows-1252',
  iso88591: 'windows-1252',
};

/** `--encoding` / SHEET_ENCODING, by any of its usual names. */
export function parseEncoding(name: string, from: string): Encoding {
  const e = ALIASES[name.trim().toLowerCase()];
  if (e === undefined) {
    throw new UsageError(
      `${from} must be one of utf-8, utf-16le, utf-16be, shift_jis (also cp932, sjis, windows-31j), euc-jp, euc-kr (also cp949), ` +
        `gbk (also gb18030, gb2312), big5 (also cp950) or windows-1252 (also cp1252, latin1, iso-8859-1), got "${name}"`,
    );
  }
  return e;
}

/** The byte order mark a file starts with, if any. */
export function byteOrderMark(head: Uint8Array): { encoding: Encoding; length: number } | null {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return null;
}

/** Decodes a file's bytes piece by piece; `invalid` counts the invalid sequences seen so far. */
export interface StreamDecoder {
  decode(bytes: Uint8Array, final: boolean): string;
  readonly invalid: number;
}

export function createDecoder(encoding: Encoding): StreamDecoder {
  switch (encoding) {
    case 'utf-8':
      return new Utf8Decoder();
    case 'utf-16le':
      return new Utf16Decoder(false);
    case 'utf-16be':
      return new Utf16Decoder(true);
    case 'shift_jis':
    case 'euc-jp':
      return new IconvDecoder(encoding === 'shift_jis' ? 'cp932' : 'eucjp', (buf) => unfinishedLegacy(encoding, buf));
    case 'euc-kr':
    case 'gbk':
    case 'big5':
    case 'windows-1252':
      return new IconvDecoder(ICONV_NAME[encoding], (buf) => unfinishedIconv(encoding, buf));
  }
}

function concat(carry: Uint8Array | null, bytes: Uint8Array): Buffer {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return carry === null || carry.length === 0 ? b : Buffer.concat([carry, b]);
}

/** Bytes at the end of `buf` that begin a UTF-8 sequence the piece does not finish. */
function unfinishedUtf8(buf: Uint8Array): number {
  for (let k = 1; k <= Math.min(3, buf.length); k++) {
    const b = buf[buf.length - k]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const needs = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return needs > k ? k : 0;
  }
  return 0;
}

class Utf8Decoder implements StreamDecoder {
  private carry: Uint8Array | null = null;
  invalid = 0;

  decode(bytes: Uint8Array, final: boolean): string {
    const buf = concat(this.carry, bytes);
    this.carry = null;
    let end = buf.length;
    if (!final) {
      const keep = unfinishedUtf8(buf);
      if (keep > 0) {
        end -= keep;
        this.carry = Uint8Array.prototype.slice.call(buf, end);
      }
    }
    const body = end === buf.length ? buf : buf.subarray(0, end);
    if (isUtf8(body)) return body.toString('utf8');
    return this.marked(body);
  }

  /**
   * The slow path, for a piece that is not valid UTF-8: each maximal invalid
   * subpart (the WHATWG and Unicode recommendation) becomes one INVALID; the
   * valid runs between them are decoded by Node.
   */
  private marked(buf: Buffer): string {
    let out = '';
    let start = 0;
    let i = 0;
    const n = buf.length;
    while (i < n) {
      const b = buf[i]!;
      if (b < 0x80) {
        i++;
        continue;
      }
      let needs = 0;
      let lo = 0x80;
      let hi = 0xbf;
      if (b >= 0xc2 && b <= 0xdf) needs = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        needs = 2;
        if (b === 0xe0) lo = 0xa0;
        else if (b === 0xed) hi = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        needs = 3;
        if (b === 0xf0) lo = 0x90;
        else if (b === 0xf4) hi = 0x8f;
      }
      let j = i + 1;
      let ok = needs > 0;
      for (let k = 0; ok && k < needs; k++, j++) {
        const c = j < n ? buf[j]! : -1;
        if (c < (k === 0 ? lo : 0x80) || c > (k === 0 ? hi : 0xbf)) ok = false;
      }
      if (ok) {
        i = j;
        continue;
      }
      // The invalid subpart ends before the byte that broke it (that byte starts over), or after a bad lead byte.
      if (needs > 0) j--;
      const stop = Math.max(j, i + 1);
      out += buf.toString('utf8', start, i) + INVALID;
      this.invalid++;
      i = stop;
      start = stop;
    }
    return out + buf.toString('utf8', start, n);
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** How many lone surrogates (undecodable sequences) a string holds. */
export function countLoneSurrogates(text: string): number {
  if (text.isWellFormed()) return 0;
  return text.match(LONE_SURROGATE)?.length ?? 0;
}

/** Where the first lone surrogate (undecodable sequence) of a string is, or -1. */
export function firstLoneSurrogate(text: string): number {
  if (text.isWellFormed()) return -1;
  const m = new RegExp(LONE_SURROGATE.source).exec(text);
  return m ? m.index : -1;
}

class Utf16Decoder implements StreamDecoder {
  private readonly bigEndian: boolean;
  private carry: Uint8Array | null = null;
  invalid = 0;
  constructor(bigEndian: boolean) {
    this.bigEndian = bigEndian;
  }

  decode(bytes: Uint8Array, final: boolean): string {
    const buf = concat(this.carry, bytes);
    this.carry = null;
    let end = buf.length - (buf.length % 2);
    if (!final && end >= 2) {
      // Keep a high surrogate that ends the piece for the next one, so each piece decodes on its own.
      const last = this.bigEndian ? (buf[end - 2]! << 8) | buf[end - 1]! : (buf[end - 1]! << 8) | buf[end - 2]!;
      if (last >= 0xd800 && last <= 0xdbff) end -= 2;
    }
    if (end < buf.length) {
      if (!final) this.carry = Uint8Array.prototype.slice.call(buf, end);
      else {
        // An odd byte at the very end: half a character.
        this.invalid++;
      }
    }
    let body = buf.subarray(0, end);
    if (this.bigEndian) body = Buffer.from(body).swap16();
    let text = body.toString('utf16le');
    const lone = countLoneSurrogates(text);
    this.invalid += lone;
    if (final && end < buf.length) text += INVALID;
    return text;
  }
}

/** Shift_JIS: bytes that begin a two-byte character. */
const sjisLead = (b: number) => (b >= 0x81 && b <= 0x9f) || (b >= 0xe0 && b <= 0xfc);
const eucTrail = (b: number) => b >= 0xa1 && b <= 0xfe;

/**
 * How many bytes at the end of `buf` begin a character the piece does not
 * finish. (iconv-lite's streaming decoders mishandle a lead byte that ends a
 * piece when the next piece starts with a byte that cannot follow it: they
 * drop that byte, a comma or a line break, say. So pieces are cut only
 * between characters.)
 */
function unfinishedLegacy(encoding: 'shift_jis' | 'euc-jp', buf: Uint8Array): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    if (encoding === 'shift_jis') {
      if (!sjisLead(b)) i += 1;
      else if (i + 1 >= buf.length) return 1;
      else i += 2;
    } else {
      const needs = b === 0x8f ? 3 : b === 0x8e || eucTrail(b) ? 2 : 1;
      let n = 1;
      while (n < needs && i + n < buf.length && eucTrail(buf[i + n]!)) n++;
      if (n < needs && i + n >= buf.length) return buf.length - i;
      i += n;
    }
  }
  return 0;
}

type IconvEncoding = 'euc-kr' | 'gbk' | 'big5' | 'windows-1252';
const ICONV_NAME: Record<IconvEncoding, string> = {
  'euc-kr': 'cp949',
  gbk: 'gb18030',
  big5: 'cp950',
  'windows-1252': 'windows1252',
};

/**
 * How many bytes at the end of `buf` to hold back for the next piece, in
 * CP949, GB18030 or CP950 (none in Windows-1252). A byte below 0x30 (a
 * comma, a quote, a space, a line break) is neither the first nor a later
 * byte of any multi-byte character in these encodings, and the decoder is
 * between characters after it whatever came before, valid or not: the piece
 * is cut after the last one. A piece without one (a long run of letters) is
 * cut by the structure of valid text: a byte 0x81-0xFE begins a two-byte
 * character, in GB18030 a four-byte one when a digit follows it.
 */
function unfinishedIconv(encoding: IconvEncoding, buf: Uint8Array): number {
  if (encoding === 'windows-1252') return 0;
  for (let k = buf.length - 1; k >= 0; k--) if (buf[k]! < 0x30) return buf.length - 1 - k;
  const lead = (b: number) => b >= 0x81 && b <= 0xfe;
  const digit = (b: number) => b >= 0x30 && b <= 0x39;
  let i = 0;
  const n = buf.length;
  while (i < n) {
    if (!lead(buf[i]!)) i++;
    else if (i + 1 >= n) return n - i;
    else if (encoding === 'gbk' && digit(buf[i + 1]!)) {
      if (i + 3 >= n) return n - i;
      i += 4;
    } else i += 2;
  }
  return 0;
}

/**
 * Every legacy encoding, by iconv-lite: Shift_JIS (CP932), EUC-JP, EUC-KR
 * (CP949), GBK (GB18030), Big5 (CP950) and Windows-1252. A piece is cut only
 * between characters (`unfinished` says how many bytes to hold back).
 * Every invalid sequence decodes to U+FFFD (checked against Python's codecs,
 * test/encoding-matrix.test.ts); none of these encodings has a character of
 * its own that decodes to it, but for GB18030's four-byte code for U+FFFD
 * itself, which means a character was lost before the export: flagged too.
 */
class IconvDecoder implements StreamDecoder {
  private readonly decoder: ReturnType<typeof iconv.getDecoder>;
  private readonly unfinished: (buf: Uint8Array) => number;
  private carry: Uint8Array | null = null;
  invalid = 0;
  constructor(iconvName: string, unfinished: (buf: Uint8Array) => number) {
    this.decoder = iconv.getDecoder(iconvName);
    this.unfinished = unfinished;
  }

  decode(bytes: Uint8Array, final: boolean): string {
    const buf = concat(this.carry, bytes);
    this.carry = null;
    let end = buf.length;
    if (!final) {
      const keep = this.unfinished(buf);
      if (keep > 0) {
        end -= keep;
        this.carry = Uint8Array.prototype.slice.call(buf, end);
      }
    }
    let text = end > 0 ? this.decoder.write(buf.subarray(0, end)) : '';
    if (final) text += this.decoder.end() ?? '';
    if (!text.includes('\ufffd')) return text;
    let n = 0;
    const marked = text.replace(/\ufffd/g, () => {
      n++;
      return INVALID;
    });
    this.invalid += n;
    return marked;
  }
}
