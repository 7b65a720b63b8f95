/**
 * An encoding is chosen on evidence of its own language, or not at all.
 * Every file here is made by an encoder independent of the decoders under
 * test: Python 3's codecs (cp949, euc_kr, gbk, gb18030, gb2312, big5, cp950,
 * cp1252, latin_1, shift_jis, cp932, euc_jp), in a child process.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CannotRunError } from '../src/errors.ts';
import { chooseEncoding } from '../src/sheet/csv/detect.ts';
import { ENCODINGS, INVALID, type Encoding } from '../src/sheet/csv/encoding.ts';
import { CODECS, decodeIn, DETECTED, PEOPLE, pythonDecode, pythonEncode, refusal } from './encodings.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-encm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: Buffer | string): string {
  const f = path.join(dir, `${n++}.csv`);
  writeFileSync(f, content);
  return f;
}

const encode = (codec: string, text: string): Buffer | null => pythonEncode(codec, [text])[0]!;

/** The encodings a refusal tells the operator to pass. */
const suggested = (message: string) =>
  [...message.matchAll(/--encoding ([\w-]+)/g)]
    .map((m) => m[1]!)
    .filter((e) => (ENCODINGS as readonly string[]).includes(e));

const csv = (rows: string[][]) =>
  [
    'No,Name,Address,Notes',
    ...rows.map((r) => r.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(',')),
  ].join('\r\n') + '\r\n';

describe('decoders of EUC-KR, GBK, Big5 and Windows-1252', () => {
  it.each([
    ['euc-kr', 'cp949'],
    ['gbk', 'gb18030'],
    ['big5', 'cp950'],
    ['windows-1252', 'cp1252'],
  ] as const)(
    "%s reads every one- and two-byte sequence as Python's %s does, or flags it: never another character",
    (encoding, codec) => {
      const chunks: number[][] = [];
      if (encoding === 'windows-1252') for (let b = 0x80; b <= 0xff; b++) chunks.push([b]);
      else
        for (let lead = 0x81; lead <= 0xfe; lead++)
          for (let trail = 0x40; trail <= 0xfe; trail++) chunks.push([lead, trail]);
      const python = pythonDecode(codec, chunks);
      let same = 0;
      const other: string[] = [];
      chunks.forEach((bytes, i) => {
        const got = decodeIn(encoding, Uint8Array.from(bytes), 1);
        if (got.text === python[i] && got.invalid === 0) same++;
        else if (got.invalid === 0 && !(python[i] ?? '').match(/[\ue000-\uf8ff]/))
          other.push(bytes.map((b) => b.toString(16)).join(' '));
      });
      // GB18030's A3A0 and A8BC moved from the private use area to real characters in a later edition: Python keeps the older mapping.
      expect(other.filter((o) => o !== 'a3 a0' && o !== 'a8 bc')).toEqual([]);
      expect(same).toBeGreaterThan(encoding === 'windows-1252' ? 120 : 13_000);
    },
  );

  it("Windows-1252's five undefined bytes (0x81 0x8D 0x8F 0x90 0x9D) are invalid, never let through", () => {
    expect(decodeIn('windows-1252', Uint8Array.from([0x41, 0x81, 0x8d, 0x8f, 0x90, 0x9d, 0x80, 0xe9]), 3)).toEqual({
      text: `A${INVALID.repeat(5)}€é`,
      invalid: 5,
    });
  });

  it('an invalid byte becomes INVALID and the comma after it survives, wherever the piece boundary falls', () => {
    for (const [encoding, bytes, text] of [
      ['euc-kr', [0xb1, 0xe8, 0xb1, 0x2c, 0x61, 0xff], `김${INVALID},a${INVALID}`],
      ['gbk', [0xcd, 0xf5, 0x81, 0x30, 0x2c, 0x61, 0xff], `王${INVALID}0,a${INVALID}`],
      ['big5', [0xa4, 0x40, 0xa4, 0x2c, 0x61, 0xff], `一${INVALID},a${INVALID}`],
    ] as const) {
      for (const size of [1, 2, 3, 100]) {
        const got = decodeIn(encoding, Uint8Array.from(bytes), size);
        expect(got.text).toBe(text);
        expect(got.invalid).toBe(2);
      }
    }
    // A character cut short by the end of the file.
    expect(decodeIn('euc-kr', Uint8Array.from([0x61, 0xb1]), 1)).toEqual({ text: `a${INVALID}`, invalid: 1 });
    expect(decodeIn('gbk', Uint8Array.from([0x61, 0x81, 0x30, 0x81]), 1).invalid).toBeGreaterThan(0);
  });

  it('any text survives any of these encodings it can be written in, cut anywhere (GB18030 four-byte characters included)', () => {
    const alphabet = fc.constantFrom(
      ...'김민준서울특별시강남구 王伟北京朝阳区陳志明台北信義區 Renée Müller São ß€’ 佐藤さくらヤマダ,"\r\n𠀋ÿ'.split(
        '',
      ),
    );
    const samples = fc.sample(
      fc.array(alphabet, { maxLength: 40 }).map((a) => a.join('')),
      { numRuns: 200, seed: 15 },
    );
    for (const [codec, encoding] of [
      ['cp949', 'euc-kr'],
      ['gb18030', 'gbk'],
      ['cp950', 'big5'],
      ['cp1252', 'windows-1252'],
    ] as const) {
      const encoded = pythonEncode(codec, samples);
      let checked = 0;
      samples.forEach((s, i) => {
        const bytes = encoded[i];
        // Python's cp950 adds ETEN's kana, which Microsoft's table (iconv-lite's) lacks: there they are flagged, never misread.
        if (encoding === 'big5' && bytes && /[\u3041-\u30ff]/.test(s)) {
          expect(decodeIn(encoding, bytes, 1).invalid).toBeGreaterThan(0);
          return;
        }
        if (!bytes) return;
        checked++;
        for (const size of [1, 2, 3, 5, 7]) expect(decodeIn(encoding, bytes, size)).toEqual({ text: s, invalid: 0 });
      });
      expect(checked).toBeGreaterThan(encoding === 'gbk' ? 20 : 5);
    }
  });
});

describe('detection: each language in each encoding it can be written in', () => {
  const cases: { lang: string; codec: string; right: Encoding; bytes: Buffer }[] = [];
  const langs = Object.keys(PEOPLE);
  for (const [codec, right] of CODECS) {
    const encoded = pythonEncode(
      codec,
      langs.map((l) => csv(PEOPLE[l]!)),
    );
    langs.forEach((lang, i) => {
      if (encoded[i]) cases.push({ lang, codec, right, bytes: encoded[i] });
    });
  }

  it('covers every language in the codecs its teams use', () => {
    for (const [lang, codecs] of Object.entries(DETECTED))
      for (const codec of codecs) expect(cases.some((c) => c.lang === lang && c.codec === codec)).toBe(true);
  });

  it.each(cases.map((c) => [c.lang, c.codec, c] as const))(
    '%s in %s is detected as its encoding, or refused naming nothing else',
    async (lang, codec, c) => {
      const f = file(c.bytes);
      const got = await chooseEncoding(f, null).then(
        (choice) => choice,
        (e: unknown) => e,
      );
      if (DETECTED[lang]!.includes(codec)) {
        expect(got).toMatchObject({ encoding: c.right, how: 'detected', invalid: 0 });
      } else if (got instanceof Error) {
        expect(got).toBeInstanceOf(CannotRunError);
        for (const s of suggested(got.message)) expect(s).toBe(c.right);
      } else {
        expect(got).toMatchObject({ encoding: c.right });
      }
      // With the right encoding given, it is read as given, cleanly.
      expect(await chooseEncoding(f, { encoding: c.right, from: '--encoding' })).toMatchObject({
        encoding: c.right,
        invalid: 0,
      });
    },
  );

  it.each([
    ['korean', 'cp949', 'euc-kr'],
    ['simplified', 'gbk', 'gbk'],
    ['traditional', 'big5', 'big5'],
    ['latin', 'cp1252', 'windows-1252'],
  ] as const)('%s in %s with a Japanese --encoding is refused, naming %s', async (lang, codec, right) => {
    const f = file(encode(codec, csv(PEOPLE[lang]!))!);
    for (const wrong of ['shift_jis', 'euc-jp'] as const) {
      const message = await refusal(chooseEncoding(f, { encoding: wrong, from: '--encoding' }));
      expect(suggested(message)).toEqual([right]);
      expect(message).toMatch(/nothing was written$/);
    }
  });

  it('the names of the 0.9.1 reports: Korean and Chinese are never EUC-JP, Renée is never Shift_JIS', async () => {
    for (const [codec, right, text] of [
      ['euc_kr', 'euc-kr', 'No,Name\r\n1,김민준\r\n2,이서연\r\n'],
      ['gbk', 'gbk', 'No,Name\r\n1,王伟\r\n2,李娜\r\n3,张敏\r\n'],
      ['cp1252', 'windows-1252', 'No,Name\r\n1,Renée\r\n'],
    ] as const) {
      const got = await chooseEncoding(file(encode(codec, text)!), null).then(
        (c) => c.encoding,
        (e: Error) => suggested(e.message).join(' '),
      );
      expect([right, '']).toContain(got);
    }
  });

  it('a refusal of a file that reads as nothing plausible suggests no encoding', async () => {
    // Kanji alone (no kana) in Shift_JIS: it could be Japanese, or anything else's bytes; the operator says which.
    const message = await refusal(
      chooseEncoding(file(encode('cp932', 'No,Name,Address\r\n1,佐藤 太郎,東京都世田谷区\r\n')!), null),
    );
    expect(message).toMatch(/no encoding buyer-sync knows reads it as text of its own language/);
    expect(suggested(message)).toEqual([]);
    // And with --encoding shift_jis it is read as given: nothing else plainly fits.
    expect(
      await chooseEncoding(file(encode('cp932', 'No,Name,Address\r\n1,佐藤 太郎,東京都世田谷区\r\n')!), {
        encoding: 'shift_jis',
        from: '--encoding',
      }),
    ).toMatchObject({ encoding: 'shift_jis', invalid: 0 });
  });

  it('--encoding windows-1252 on valid UTF-8 with accented letters is refused: UTF-8 is what it is', async () => {
    const message = await refusal(
      chooseEncoding(file('No,Name\r\n1,Renée Müller\r\n'), { encoding: 'windows-1252', from: 'SHEET_ENCODING' }),
    );
    expect(message).toMatch(/is valid UTF-8 .* but SHEET_ENCODING says Windows-1252/);
  });

  it('--encoding utf-8 on a Latin-1 file is refused, naming windows-1252', async () => {
    const message = await refusal(
      chooseEncoding(file(encode('latin_1', csv(PEOPLE.latin!))!), { encoding: 'utf-8', from: '--encoding' }),
    );
    expect(message).toMatch(
      /is not valid UTF-8 as --encoding says .* but it is valid Windows-1252 \(Latin-1\): pass --encoding windows-1252/,
    );
  });

  it('edge cases: capital accents, half-width katakana names, Korean bare letters, two-character names', async () => {
    const detect = async (codec: string, text: string) =>
      chooseEncoding(file(encode(codec, text)!), null).then(
        (c) => c.encoding as string,
        (e: Error) => `refused: ${suggested(e.message).join(' ')}`,
      );
    // É and Ç are ﾉ and ﾇ in Shift_JIS, but glued to Latin letters they are no katakana word.
    expect(await detect('cp1252', 'No,Name\r\n1,ÉLODIE ÇA\r\n')).toBe('windows-1252');
    // Half-width katakana names (Excel on an old Japanese Windows) are Japanese evidence.
    expect(await detect('cp932', 'No,Name\r\n1,ﾀﾅｶ ﾊﾅｺ\r\n2,ﾔﾏﾀﾞ ﾀﾛｳ\r\n')).toBe('shift_jis');
    // Korean with bare letters (ㅋㅋ): EUC-JP reads those bytes as hiragana, so the file may be refused naming both, never read as EUC-JP.
    expect(['euc-kr', 'refused: euc-jp euc-kr']).toContain(
      await detect('cp949', 'No,Name,Notes\r\n1,김민준,ㅋㅋ 좋아요\r\n2,이서연,\r\n'),
    );
    // Two syllables or two hanzi are too little evidence between Korean and Chinese: refused, naming only encodings that fit.
    expect(await detect('cp949', 'No,Name\r\n1,김민\r\n')).toMatch(/^refused: .*euc-kr/);
    expect(await detect('gbk', 'No,Name\r\n1,李刘\r\n')).toMatch(/^refused: .*gbk/);
    // Smart quotes alone (no accented letter) are no evidence of Windows-1252: refused, suggesting nothing.
    expect(await detect('cp1252', 'No,Name,Notes\r\n1,Bob,it’s “fine” – ok\r\n')).toBe('refused: ');
  });

  it('a Korean sheet with a few Latin names and digits is still Korean', async () => {
    const text = csv([
      ...PEOPLE.korean!,
      ['B-X1', 'Kim Minjun', 'Seoul 123', 'ok'],
      ['B-X2', '최수아', '인천광역시', '010-1234-5678'],
    ]);
    expect(await chooseEncoding(file(encode('cp949', text)!), null)).toMatchObject({ encoding: 'euc-kr' });
  });
});

describe('detection never misreads: random sheets of each language, in each encoding its teams use', () => {
  const pick = (xs: string[]) => fc.constantFrom(...xs);
  const words = (s: string) => s.split(' ');
  const LANGS: Record<
    string,
    { name: fc.Arbitrary<string>; text: fc.Arbitrary<string>; codecs: [string, Encoding][] }
  > = {
    korean: {
      name: fc
        .tuple(
          pick(words('김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 류 홍')),
          fc.array(pick(words('민 준 서 연 지 훈 수 아 하 은 도 윤 예 진 현 우 성 영 호 경 미 정 혜')), {
            minLength: 1,
            maxLength: 2,
          }),
        )
        .map(([a, b]) => a + b.join('')),
      text: fc
        .array(
          pick(words('서울특별시 부산광역시 강남구 해운대구 아파트 101동 역 근처 희망 주차 조용한 동네 예산 상담')),
          { maxLength: 5 },
        )
        .map((w) => w.join(' ')),
      codecs: [
        ['cp949', 'euc-kr'],
        ['euc_kr', 'euc-kr'],
      ],
    },
    simplified: {
      name: fc
        .tuple(
          pick(words('王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗')),
          fc.array(pick(words('伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 刚 华')), {
            minLength: 1,
            maxLength: 2,
          }),
        )
        .map(([a, b]) => a + b.join('')),
      text: fc
        .array(pick(words('北京市 上海市 朝阳区 浦东新区 希望 靠近 地铁站 安静 预算 有限 学区房 两室一厅')), {
          maxLength: 5,
        })
        .map((w) => w.join('')),
      codecs: [
        ['gbk', 'gbk'],
        ['gb18030', 'gbk'],
        ['gb2312', 'gbk'],
      ],
    },
    traditional: {
      name: fc
        .tuple(
          pick(words('陳 林 黃 張 李 王 吳 劉 蔡 楊 許 鄭 謝 郭 洪')),
          fc.array(pick(words('志 明 淑 芬 建 國 家 豪 怡 君 偉 婷 雅 宏 俊')), { minLength: 1, maxLength: 2 }),
        )
        .map(([a, b]) => a + b.join('')),
      text: fc
        .array(pick(words('台北市 高雄市 信義區 前鎮區 希望 靠近 捷運站 安靜 預算 有限 兩房 電梯')), { maxLength: 5 })
        .map((w) => w.join('')),
      codecs: [
        ['big5', 'big5'],
        ['cp950', 'big5'],
      ],
    },
    latin: {
      name: fc
        .tuple(
          pick(words('Renée José Chloé Zoë Gaël François Björn Søren Inès Hélène Jürgen Ana')),
          pick(words('Müller Dupont Núñez Gonçalves Ødegaard Lefèvre Schäfer García Smith')),
        )
        .map(([a, b]) => `${a} ${b}`),
      text: fc
        .array(pick(words('près du métro calme Straße München São Paulo Größe élevé rez-de-chaussée balcon café')), {
          maxLength: 5,
        })
        .map((w) => w.join(' ')),
      codecs: [
        ['cp1252', 'windows-1252'],
        ['latin_1', 'windows-1252'],
      ],
    },
    japanese: {
      name: fc
        .tuple(
          pick(words('佐藤 鈴木 高橋 田中 渡辺 伊藤 山本 中村 小林 加藤')),
          pick(words('さくら はなこ たろう ヒロシ ユキ 美咲 健一 翔太 陽菜 ﾀﾛｳ')),
        )
        .map(([a, b]) => `${a} ${b}`),
      text: fc
        .array(pick(words('東京都 大阪府 世田谷区 駅徒歩5分 希望 ペット可 静かな 環境 です 予算 相談')), {
          maxLength: 5,
        })
        .map((w) => w.join('')),
      codecs: [
        ['shift_jis', 'shift_jis'],
        ['cp932', 'shift_jis'],
        ['euc_jp', 'euc-jp'],
      ],
    },
  };

  it.each(Object.keys(LANGS))(
    '%s: detected as its encoding or refused, never read as another',
    async (lang) => {
      const { name, text, codecs } = LANGS[lang]!;
      const sheet = fc
        .array(fc.tuple(name, text, text), { minLength: 1, maxLength: 8 })
        .map((rows) => csv(rows.map(([nm, a, b], i) => [`K${i}`, nm, a, b])));
      const sheets = fc.sample(sheet, { numRuns: 100, seed: 1515 });
      let detected = 0;
      let total = 0;
      for (const [codec, right] of codecs) {
        const encoded = pythonEncode(codec, sheets);
        for (let i = 0; i < sheets.length; i++) {
          const bytes = encoded[i];
          if (!bytes) continue; // halfwidth katakana in EUC-JP, say: Python writes them, but not every codec can
          total++;
          const got = await chooseEncoding(file(bytes), null).then(
            (c) => c.encoding as string,
            (e: Error) => {
              expect(e).toBeInstanceOf(CannotRunError);
              const s = suggested(e.message);
              // A refusal names the right encoding among those that fit, or none.
              if (s.length > 0) expect(s, `${lang} in ${codec}: ${e.message}`).toContain(right);
              return 'refused';
            },
          );
          if (got !== 'refused') {
            expect(got, `${lang} in ${codec}: ${sheets[i]}`).toBe(right);
            detected++;
          }
        }
      }
      // Most realistic sheets are detected, not merely refused.
      expect(detected).toBeGreaterThan(total * 0.5);
    },
    60_000,
  );
});
