/**
 * Encodings, never guessed silently: decoders that never replace a bad byte
 * quietly, and the choice of encoding for a whole export (byte order mark,
 * detection, --encoding), refusing loudly where the file is unclear.
 * Files are made with iconv-lite, an encoder independent of the decoders
 * under test (Node's own and ICU's).
 */
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseEncoding } from '../src/sheet/csv/detect.ts';
import { countLoneSurrogates, INVALID, parseEncoding, type Encoding } from '../src/sheet/csv/encoding.ts';
import { decodeIn, refusal } from './encodings.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-enc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: Buffer | string): string {
  const f = path.join(dir, `${n++}.csv`);
  writeFileSync(f, content);
  return f;
}

describe('decoders', () => {
  const text = '佐藤 太郎,東京都世田谷区,🏠 ｱｲｳ,①～＼,plain\r\n';

  it.each([
    ['utf-8', Buffer.from(text, 'utf8')],
    ['utf-16le', Buffer.from(text, 'utf16le')],
    ['utf-16be', Buffer.from(text, 'utf16le').swap16()],
    ['shift_jis', iconv.encode(text.replace('🏠 ', ''), 'cp932')],
    ['euc-jp', iconv.encode(text.replace('🏠 ', '').replace('①', ''), 'euc-jp')],
  ] as const)('%s decodes exactly, cut into pieces of any size', (encoding, bytes) => {
    const expected =
      encoding === 'shift_jis'
        ? text.replace('🏠 ', '')
        : encoding === 'euc-jp'
          ? text.replace('🏠 ', '').replace('①', '')
          : text;
    for (const size of [1, 2, 3, 5, 7, 64, 1 << 16]) {
      expect(decodeIn(encoding, bytes, size)).toEqual({ text: expected, invalid: 0 });
    }
  });

  it('an invalid UTF-8 byte becomes INVALID (a lone surrogate), never U+FFFD, wherever the piece boundary falls', () => {
    const bytes = Buffer.concat([
      Buffer.from('a,東'),
      Buffer.from([0xe6, 0x9d]),
      Buffer.from(',b'),
      Buffer.from([0xff]),
      Buffer.from('\uFFFD'),
    ]);
    for (const size of [1, 2, 3, 4, 100]) {
      const { text, invalid } = decodeIn('utf-8', bytes, size);
      expect(text).toBe(`a,東${INVALID},b${INVALID}\uFFFD`);
      expect(invalid).toBe(2);
      expect(countLoneSurrogates(text)).toBe(2);
    }
  });

  it('UTF-8: a sequence cut short at the end of the file is invalid', () => {
    expect(decodeIn('utf-8', Buffer.from([0x61, 0xe6, 0x9d]), 2)).toEqual({ text: `a${INVALID}`, invalid: 1 });
  });

  it('UTF-8: each maximal invalid subpart is one INVALID (an overlong form, a surrogate, a bad continuation)', () => {
    // C0 80: two invalid bytes; ED A0 80: a surrogate, ED then two stray continuations; E6 41: a cut sequence then 'A'.
    const { text, invalid } = decodeIn(
      'utf-8',
      Buffer.from([0xc0, 0x80, 0x2c, 0xed, 0xa0, 0x80, 0x2c, 0xe6, 0x41]),
      100,
    );
    expect(text).toBe(`${INVALID}${INVALID},${INVALID}${INVALID}${INVALID},${INVALID}A`);
    expect(invalid).toBe(6);
  });

  it('Shift_JIS: a byte that is no character becomes INVALID and the comma after it survives', () => {
    const bytes = Buffer.concat([iconv.encode('東京', 'cp932'), Buffer.from([0x81, 0x2c, 0x61, 0xa0])]);
    expect(decodeIn('shift_jis', bytes, 1)).toEqual({ text: `東京${INVALID},a${INVALID}`, invalid: 2 });
  });

  it('UTF-16: a lone surrogate stays lone (invalid), a pair cut across pieces joins up, an odd last byte is invalid', () => {
    const lone = Buffer.from([0x61, 0x00, 0x00, 0xd8, 0x62, 0x00]); // a, lone high surrogate, b
    expect(decodeIn('utf-16le', lone, 3).invalid).toBe(1);
    const pair = Buffer.from('x🏠y', 'utf16le');
    for (const size of [1, 2, 3, 4, 5]) expect(decodeIn('utf-16le', pair, size)).toEqual({ text: 'x🏠y', invalid: 0 });
    expect(decodeIn('utf-16le', Buffer.from([0x61, 0x00, 0x62]), 2)).toEqual({ text: `a${INVALID}`, invalid: 1 });
  });

  it('Shift_JIS and EUC-JP read every character as the WHATWG/ICU decoders do, or flag it: never another character', () => {
    for (const [ours, whatwg] of [
      ['shift_jis', 'shift_jis'],
      ['euc-jp', 'euc-jp'],
    ] as const) {
      const icu = new TextDecoder(whatwg);
      let compared = 0;
      for (let lead = 0x81; lead <= 0xfe; lead++) {
        for (let trail = 0x40; trail <= 0xfe; trail++) {
          const bytes = new Uint8Array([lead, trail]);
          const expected = icu.decode(bytes);
          if ([...expected].length !== 1 || expected === '\ufffd') continue;
          // The same character, or (where the tables disagree: a few vendor codes) flagged as invalid: never another character.
          const got = decodeIn(ours, bytes, 2);
          if (got.text !== expected) expect(got.invalid).toBeGreaterThan(0);
          else compared++;
        }
      }
      expect(compared).toBeGreaterThan(7000);
    }
  });

  it("bytes that Node's own ICU decoders drop without a trace are kept or flagged: never lost", () => {
    // ICU's EUC-JP decoder drops 0x93 0x8C; its Shift_JIS decoder drops the user-defined character F0 40.
    expect(decodeIn('euc-jp', Buffer.from([0x32, 0x93, 0x8c]), 1)).toEqual({
      text: `2${INVALID}${INVALID}`,
      invalid: 2,
    });
    expect(decodeIn('shift_jis', Buffer.from([0xf0, 0x40]), 1)).toEqual({ text: '\ue000', invalid: 0 });
  });

  it('every way of writing an encoding name is understood; others are a usage error', () => {
    for (const [name, e] of [
      ['UTF8', 'utf-8'],
      ['cp932', 'shift_jis'],
      ['Windows-31J', 'shift_jis'],
      ['sjis', 'shift_jis'],
      ['EUC-JP', 'euc-jp'],
      ['utf-16LE', 'utf-16le'],
    ] as const) {
      expect(parseEncoding(name, '--encoding')).toBe(e);
    }
    for (const [name, e] of [
      ['latin1', 'windows-1252'],
      ['CP1252', 'windows-1252'],
      ['iso-8859-1', 'windows-1252'],
      ['cp949', 'euc-kr'],
      ['EUC-KR', 'euc-kr'],
      ['gb18030', 'gbk'],
      ['GBK', 'gbk'],
      ['gb2312', 'gbk'],
      ['big5', 'big5'],
      ['cp950', 'big5'],
    ] as const) {
      expect(parseEncoding(name, '--encoding')).toBe(e);
    }
    expect(() => parseEncoding('koi8-r', '--encoding')).toThrow(/--encoding must be one of/);
  });

  it('any text survives any encoding it can be written in, cut anywhere', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.constantFrom<Encoding>('utf-8', 'utf-16le', 'utf-16be', 'shift_jis'),
        fc.integer({ min: 1, max: 9 }),
        (s, encoding, size) => {
          const bytes =
            encoding === 'utf-8'
              ? Buffer.from(s, 'utf8')
              : encoding === 'utf-16le'
                ? Buffer.from(s, 'utf16le')
                : encoding === 'utf-16be'
                  ? Buffer.from(s, 'utf16le').swap16()
                  : iconv.encode(s, 'cp932');
          if (encoding === 'shift_jis' && iconv.decode(bytes, 'cp932') !== s) return; // not representable in CP932
          expect(decodeIn(encoding, bytes, size)).toEqual({ text: s, invalid: 0 });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('choosing the encoding of an export', () => {
  const sheet = 'Buyer Number,Name,Address\r\n000001,佐藤 太郎,東京都世田谷区桜新町\r\n000002,ﾀﾅｶ ﾊﾅｺ,大阪府\r\n';

  it('a byte order mark decides: UTF-8, UTF-16LE, UTF-16BE', async () => {
    expect(
      await chooseEncoding(file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(sheet)])), null),
    ).toMatchObject({ encoding: 'utf-8', skip: 3, how: 'byte order mark' });
    expect(
      await chooseEncoding(file(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(sheet, 'utf16le')])), null),
    ).toMatchObject({ encoding: 'utf-16le', skip: 2 });
    expect(
      await chooseEncoding(
        file(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(sheet, 'utf16le').swap16()])),
        null,
      ),
    ).toMatchObject({ encoding: 'utf-16be', skip: 2 });
  });

  it('valid UTF-8 (and so plain ASCII) is UTF-8', async () => {
    expect(await chooseEncoding(file(sheet), null)).toMatchObject({
      encoding: 'utf-8',
      skip: 0,
      how: 'detected',
      invalid: 0,
    });
    expect(await chooseEncoding(file('a,b\n1,2\n'), null)).toMatchObject({ encoding: 'utf-8' });
  });

  it("Excel's Shift_JIS (CP932) is detected", async () => {
    expect(await chooseEncoding(file(iconv.encode(sheet, 'cp932')), null)).toMatchObject({
      encoding: 'shift_jis',
      how: 'detected',
      invalid: 0,
    });
  });

  it('a file that reads as Shift_JIS and EUC-JP alike is refused, naming both flags', async () => {
    // Hiragana in EUC-JP are pairs of bytes that Shift_JIS reads as half-width katakana.
    const message = await refusal(chooseEncoding(file(iconv.encode('No,名前\r\n1,あいう\r\n', 'euc-jp')), null));
    expect(message).toMatch(
      /reads as Shift_JIS and as EUC-JP alike: pass --encoding shift_jis .* or --encoding euc-jp/,
    );
    expect(
      await chooseEncoding(file(iconv.encode('No,名前\r\n1,あいう\r\n', 'euc-jp')), {
        encoding: 'euc-jp',
        from: '--encoding',
      }),
    ).toMatchObject({ encoding: 'euc-jp', invalid: 0 });
  });

  it('UTF-16 that lost its byte order mark is refused, naming the flag', async () => {
    expect(await refusal(chooseEncoding(file(Buffer.from(sheet, 'utf16le')), null))).toMatch(
      /looks like UTF-16LE without a byte order mark .*pass --encoding utf-16le/,
    );
    expect(await refusal(chooseEncoding(file(Buffer.from(sheet, 'utf16le').swap16()), null))).toMatch(
      /pass --encoding utf-16be/,
    );
  });

  it('a damaged UTF-8 file is UTF-8 with its invalid sequences counted (their rows fail), with the line of the first', async () => {
    const damaged = Buffer.concat([
      Buffer.from('a,b\r\n1,東京\r\n2,x'),
      Buffer.from([0xff]),
      Buffer.from('y\r\n3,大阪\n4,名古屋\r\n'),
    ]);
    expect(await chooseEncoding(file(damaged), null)).toMatchObject({
      encoding: 'utf-8',
      invalid: 1,
      firstInvalidLine: 3,
    });
  });

  it('half-width katakana in Shift_JIS that happen to be valid UTF-8 are ambiguous: refused, never read as Greek or Latin', async () => {
    // ﾏｷ is CF B7, which UTF-8 reads as U+03F7.
    const message = await refusal(chooseEncoding(file(iconv.encode('No,Name\r\n1,ﾏｷ ﾕｶ\r\n', 'cp932')), null));
    expect(message).toMatch(
      /reads as UTF-8 \(Greek, Cyrillic or other letters beyond Latin-1\?\) and as Shift_JIS \(half-width katakana\?\) alike: pass --encoding utf-8 or --encoding shift_jis/,
    );
    // With one kanji the Shift_JIS reading is plain: no UTF-8 character beyond two bytes is in it.
    expect(await chooseEncoding(file(iconv.encode('No,Name\r\n1,ﾏｷ ﾕｶ\r\n2,東京\r\n', 'cp932')), null)).toMatchObject({
      encoding: 'shift_jis',
    });
    // Latin-1 letters and signs in UTF-8 (¥, é, ü) are UTF-8: as katakana they would be nothing but pairs beginning ﾂ or ﾃ.
    expect(await chooseEncoding(file('No,Name,Budget\r\n1,Zoë Müller,¥35,000\r\n'), null)).toMatchObject({
      encoding: 'utf-8',
    });
    // Greek or Cyrillic, with nothing beyond it, is the same bytes as half-width katakana: the operator says which.
    const greek = file('No,Name\r\n1,Ϸ ն\r\n');
    expect(await refusal(chooseEncoding(greek, null))).toMatch(/alike: pass --encoding utf-8 or --encoding shift_jis/);
    expect(await chooseEncoding(greek, { encoding: 'utf-8', from: '--encoding' })).toMatchObject({
      encoding: 'utf-8',
      invalid: 0,
    });
    // Japanese anywhere in it settles it: three-byte UTF-8 characters are no accident.
    expect(await chooseEncoding(file('No,Name\r\n1,Zoë Müller\r\n2,佐藤\r\n'), null)).toMatchObject({
      encoding: 'utf-8',
    });
  });

  it('a Shift_JIS export with a row appended in UTF-8 mixes encodings: refused, naming the line', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => `${i},佐藤 さくら,東京都世田谷区桜新町\r\n`).join('');
    const sjis = iconv.encode(`No,Name,Address\r\n${rows}`, 'cp932');
    const message = await refusal(
      chooseEncoding(file(Buffer.concat([sjis, Buffer.from('20,山田 花子,大阪府\r\n')])), null),
    );
    expect(message).toMatch(
      /is Shift_JIS, but line 22 is UTF-8 \(rows added by another program\?\): the file mixes encodings/,
    );
    // Kanji alone are no evidence of Shift_JIS: the file is still refused for mixing encodings, without naming one for the rest.
    const kanji = iconv.encode(`No,Name,Address\r\n${rows.replaceAll('さくら', '太郎')}`, 'cp932');
    const other = await refusal(
      chooseEncoding(file(Buffer.concat([kanji, Buffer.from('20,山田 花子,大阪府\r\n')])), null),
    );
    expect(other).toMatch(
      /is not UTF-8 \(.*\), but line 22 is \(rows added by another program\?\): the file mixes encodings/,
    );
  });

  it('a UTF-8 byte order mark in front of Shift_JIS is refused, not read row by row into failures', async () => {
    const message = await refusal(
      chooseEncoding(file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), iconv.encode(sheet, 'cp932')])), null),
    );
    expect(message).toMatch(
      /starts with a UTF-8 byte order mark but is not UTF-8 .*; after the mark it reads as Shift_JIS/,
    );
  });

  it('UTF-16 without its mark is recognized from its commas and line breaks, even when nearly every letter is Japanese', async () => {
    const japanese = `番号,名前,住所\r\n${Array.from({ length: 40 }, (_, i) => `${i},佐藤太郎花子,東京都世田谷区桜新町二丁目`).join('\r\n')}`;
    expect(await refusal(chooseEncoding(file(Buffer.from(japanese, 'utf16le')), null))).toMatch(
      /looks like UTF-16LE without a byte order mark/,
    );
  });

  it('--encoding is used as given, unless the file plainly is in another encoding', async () => {
    expect(await refusal(chooseEncoding(file(sheet), { encoding: 'shift_jis', from: '--encoding' }))).toMatch(
      /is valid UTF-8 with characters no Shift_JIS file holds by chance, but --encoding says Shift_JIS/,
    );
    const sjis = file(iconv.encode(sheet, 'cp932'));
    expect(await chooseEncoding(sjis, { encoding: 'shift_jis', from: 'SHEET_ENCODING' })).toMatchObject({
      encoding: 'shift_jis',
      how: 'SHEET_ENCODING',
    });
    expect(await refusal(chooseEncoding(sjis, { encoding: 'utf-8', from: '--encoding' }))).toMatch(
      /is not valid UTF-8 as --encoding says \(\d+ invalid byte sequences, the first on line 2\), but it is valid Shift_JIS: pass --encoding shift_jis/,
    );
    const bom = file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(sheet)]));
    expect(await refusal(chooseEncoding(bom, { encoding: 'shift_jis', from: '--encoding' }))).toMatch(
      /starts with a UTF-8 byte order mark, but --encoding says Shift_JIS/,
    );
    expect(await chooseEncoding(bom, { encoding: 'utf-8', from: '--encoding' })).toMatchObject({
      encoding: 'utf-8',
      skip: 3,
    });
  });
});
