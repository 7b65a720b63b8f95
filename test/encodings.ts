/**
 * What the encoding tests share: Python 3's codecs as the independent
 * encoder and decoder, buyers in five languages, the codec each team's files
 * come in and the encoding buyer-sync must read them in, and two small
 * checks. Not a test file: importing one would run its tests again.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import { CannotRunError } from '../src/errors.ts';
import { createDecoder, type Encoding } from '../src/sheet/csv/encoding.ts';

export /** Encodes each text with Python's codec, or null where the codec cannot write it. */
function pythonEncode(codec: string, texts: string[]): (Buffer | null)[] {
  const out = execFileSync(
    'python3',
    [
      '-c',
      `
import base64, json, sys
res = []
for t in json.load(sys.stdin):
    try: res.append(base64.b64encode(t.encode(${JSON.stringify(codec)})).decode())
    except UnicodeEncodeError: res.append(None)
print(json.dumps(res))`,
    ],
    { input: JSON.stringify(texts), maxBuffer: 1 << 28 },
  );
  return (JSON.parse(out.toString()) as (string | null)[]).map((b) => (b === null ? null : Buffer.from(b, 'base64')));
}

export /** Decodes with Python's codec: the text, or null where it is not valid. */
function pythonDecode(codec: string, chunks: number[][]): (string | null)[] {
  const out = execFileSync(
    'python3',
    [
      '-c',
      `
import json, sys
res = []
for b in json.load(sys.stdin):
    try: res.append(bytes(b).decode(${JSON.stringify(codec)}))
    except UnicodeDecodeError: res.append(None)
print(json.dumps(res))`,
    ],
    { input: JSON.stringify(chunks), maxBuffer: 1 << 28 },
  );
  return JSON.parse(out.toString()) as (string | null)[];
}

/** Decodes `bytes` cut into pieces of `size` bytes. */
export function decodeIn(encoding: Encoding, bytes: Uint8Array, size: number): { text: string; invalid: number } {
  const d = createDecoder(encoding);
  let text = '';
  for (let i = 0; i < bytes.length; i += size) text += d.decode(bytes.subarray(i, i + size), false);
  text += d.decode(new Uint8Array(0), true);
  return { text, invalid: d.invalid };
}

/** The refusal a promise ends in (a CannotRunError), as its message. */
export const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CannotRunError);
  return (err as Error).message;
};

/** Buyers in five languages: what one sheet holds, in each team's script. */
export const PEOPLE: Record<string, string[][]> = {
  korean: [
    ['B-K1', '김민준', '서울특별시 강남구 테헤란로 123', '역에서 가까운 곳 희망, 주차 필요'],
    ['B-K2', '이서연', '부산광역시 해운대구', '조용한 동네'],
    ['B-K3', '박지훈', '', ''],
  ],
  simplified: [
    ['B-C1', '王伟', '北京市朝阳区建国路88号', '希望靠近地铁站，安静'],
    ['B-C2', '李娜', '上海市浦东新区', '预算有限'],
    ['B-C3', '张敏', '', ''],
  ],
  traditional: [
    ['B-T1', '陳志明', '台北市信義區松仁路100號', '希望靠近捷運站，安靜'],
    ['B-T2', '林淑芬', '高雄市前鎮區', '預算有限'],
    ['B-T3', '黃建國', '', ''],
  ],
  latin: [
    ['B-L1', 'Renée Dupont', '12 rue de la Paix, Paris', 'près du métro, calme'],
    ['B-L2', 'José Müller', 'Straße 5, München', 'Größe egal'],
    ['B-L3', 'François Gaël', 'São Paulo', ''],
  ],
  japanese: [
    ['B-J1', '佐藤 さくら', '東京都世田谷区桜新町2-15-8', '駅徒歩10分以内希望。ペット可'],
    ['B-J2', 'ヤマダ タロウ', '大阪府大阪市北区', '静かな環境'],
    ['B-J3', '田中 美咲', '', ''],
  ],
};

/** Python's codec, and the encoding buyer-sync must read its files in. */
export const CODECS: [string, Encoding][] = [
  ['cp949', 'euc-kr'],
  ['euc_kr', 'euc-kr'],
  ['gbk', 'gbk'],
  ['gb18030', 'gbk'],
  ['gb2312', 'gbk'],
  ['big5', 'big5'],
  ['cp950', 'big5'],
  ['cp1252', 'windows-1252'],
  ['latin_1', 'windows-1252'],
  ['shift_jis', 'shift_jis'],
  ['cp932', 'shift_jis'],
  ['euc_jp', 'euc-jp'],
];

/** Each language in the codecs its teams use: these must be detected, not merely refused. */
export const DETECTED: Record<string, string[]> = {
  korean: ['cp949', 'euc_kr'],
  simplified: ['gbk', 'gb18030', 'gb2312'],
  traditional: ['big5', 'cp950'],
  latin: ['cp1252', 'latin_1'],
  japanese: ['shift_jis', 'cp932', 'euc_jp'],
};
