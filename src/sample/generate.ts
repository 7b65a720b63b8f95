/**
 * Realistic buyers sheets, deterministic for a seed: the sample sheet shipped
 * in data/ (npm run sample:generate) and the benchmark's synthetic sheets.
 * Japanese names and addresses, a share of values longer than 50 characters
 * (the incident), and optionally the broken rows real sheets have.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { loadMapping, type ColumnType, type Mapping } from '../mapping/mapping.ts';
import { DEFAULT_MAPPING_FILE } from '../paths.ts';

/** The sheet's columns, as the project's column mapping defines them (db/sheet-mapping.json). */
export const DEFAULT_MAPPING: Mapping = loadMapping(DEFAULT_MAPPING_FILE);

/** The header row of a sheet of the project's column mapping. */
export const HEADER: string[] = DEFAULT_MAPPING.columns.map((c) => c.header);

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FAMILY = [
  '佐藤',
  '鈴木',
  '高橋',
  '田中',
  '伊藤',
  '渡辺',
  '山本',
  '中村',
  '小林',
  '加藤',
  '吉田',
  '山田',
  '佐々木',
  '山口',
  '松本',
  '井上',
  '木村',
  '林',
  '斎藤',
  '清水',
];
const GIVEN = [
  '太郎',
  '花子',
  '翔太',
  '美咲',
  '大輔',
  '陽子',
  '健一',
  '由美',
  '拓也',
  '恵子',
  '誠',
  '明美',
  '直樹',
  '真由美',
  '浩二',
  'さくら',
  '蓮',
  '結衣',
];
const ROMAJI = [
  'sato',
  'suzuki',
  'takahashi',
  'tanaka',
  'ito',
  'watanabe',
  'yamamoto',
  'nakamura',
  'kobayashi',
  'kato',
];
const WARDS = [
  '東京都世田谷区桜新町',
  '東京都目黒区自由が丘',
  '神奈川県横浜市青葉区美しが丘',
  '東京都港区南麻布',
  '大阪府大阪市北区梅田',
  '埼玉県さいたま市浦和区高砂',
  '千葉県浦安市舞浜',
  '東京都杉並区荻窪',
];
const BUILDINGS = [
  'グランドメゾン桜新町レジデンス',
  'パークハウス自由が丘ザ・レジデンス',
  'ブリリアタワー横浜みなとみらい',
  'ライオンズマンション浦和高砂第二',
  'シティタワー梅田イーストウイング',
];
const SOURCES = ['SUUMO', "HOME'S", 'athome', '自社サイト', 'ご紹介', '看板', 'チラシ'];
const AREAS = ['世田谷区', '目黒区', '港区', '横浜市青葉区', '浦和', '梅田', '杉並区', '川崎市中原区'];
const TYPES = ['新築マンション', '中古マンション', '新築戸建て', '中古戸建て', '土地'];
const STATUSES = ['新規', '追客中', '内覧予約', '商談中', '申込', '成約', '見送り'];
const ASSIGNEES = ['営業一課 山田', '営業一課 佐藤', '営業二課 鈴木', '営業二課 高橋', '店長 田中'];
const NOTES = [
  '駅徒歩10分以内希望。',
  '小学校区を重視。',
  'ペット可物件のみ。',
  '住宅ローン事前審査済み。',
  '週末のみ連絡可。',
  '',
];
const LONG_NOTES = [
  '現在賃貸マンションにお住まいで、来年春のお子様の小学校入学までに購入を希望。駅から徒歩十分以内、南向き、三LDK以上、駐車場付きが必須条件。ご主人は在宅勤務のため書斎スペースも希望されています。',
  'ご両親との二世帯同居を検討中のため、玄関が二つある間取りか、同じマンション内で二戸の購入も視野に入れている。資金計画について次回の面談でファイナンシャルプランナーの同席を希望。',
];

/** Sentences of the notes a sales team keeps on a buyer (the hard benchmark sheet strings them together). */
const NOTE_SENTENCES = [
  '初回来店時に資金計画の相談あり、自己資金は一千万円程度。',
  '奥様は在宅勤務のため防音性と日当たりを重視されている。',
  '現在の住まいは賃貸で、更新時期が来年三月のため、それまでに引き渡しを希望。',
  '内覧後の感想として、キッチンの収納が少ない点が気になるとのこと。',
  'ご主人の勤務先が丸の内のため、東京駅まで四十分以内が条件。',
  '電話は平日十九時以降、メールは随時可。LINEでの連絡を希望。',
  '他社でも同じエリアの物件を検討中。価格交渉の余地を確認して連絡する。',
  '住宅ローンは変動金利で事前審査を申込済み、結果待ち。',
  'ペット（小型犬二匹）可の物件が必須。管理規約の確認が必要。',
  '次回はお子様も一緒に内覧予定。学区と通学路の安全性を説明する。',
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) || v !== v.trim() ? `"${v.replaceAll('"', '""')}"` : v;
}

/** One CSV record as a spreadsheet exports it (CR LF). */
export function csvLine(row: string[]): string {
  return `${row.map(csvCell).join(',')}\r\n`;
}

export interface GenerateOptions {
  count: number;
  seed?: number;
  /** Fraction of buyers with at least one value longer than 50 characters. */
  longRate?: number;
  /** Add the broken rows a real sheet has (bad dates and budgets, formula errors, no number, duplicates, blanks). */
  broken?: boolean;
  /** Only ISO dates and plain integer budgets, so that a bare COPY with casts can load it too (the benchmark's floor). */
  plain?: boolean;
  /**
   * As hard as real sheets: notes on most buyers (several sentences of
   * Japanese), a few very long ones (up to 20,000 characters), dates and
   * budgets in every format people type (slashes, yen signs, 円, commas).
   * Overrides plain.
   */
  hard?: boolean;
  /**
   * The column mapping whose sheet is generated (default: the project's).
   * Its columns are filled by name; a column this generator has no rule for
   * gets a plausible value of its type.
   */
  mapping?: Mapping;
}

/** A value for a mapped column the generator has no rule for, by type. */
function otherValue(r: () => number, type: ColumnType, i: number): string {
  if (type === 'date') return new Date(Date.UTC(2024, 0, 1 + Math.floor(r() * 365))).toISOString().slice(0, 10);
  if (type === 'bigint') return String(Math.floor(r() * 1000));
  return r() < 0.2 ? '' : `${pick(r, AREAS)} ${pad(i, 4)}`;
}

/** The rows of a generated sheet (header first), as cell arrays. */
export function* generateRows(opts: GenerateOptions): Generator<string[]> {
  const r = rng(opts.seed ?? 42);
  const longRate = opts.longRate ?? 0.086;
  const columns = (opts.mapping ?? DEFAULT_MAPPING).columns;
  yield columns.map((c) => c.header);
  /** The sheet row of the buyer's values, in the mapping's order. */
  const arrange = (values: Record<string, string>): string[] => columns.map((c) => values[c.column] ?? '');
  const brokenEvery = opts.broken ? Math.max(50, Math.floor(opts.count / 40)) : 0;
  let emitted = 0;
  for (let i = 1; i <= opts.count; i++) {
    const family = pick(r, FAMILY);
    const given = pick(r, GIVEN);
    // Spread evenly: 8.6 % of 4,137 is the incident's 356.
    const long = Math.floor(i * longRate) !== Math.floor((i - 1) * longRate);
    const which = long ? Math.floor(r() * 4) : -1;
    const day = 44927 + Math.floor(r() * 700); // 2023-2024, as Sheets serial numbers
    const iso = new Date(Date.UTC(1899, 11, 30) + day * 86_400_000).toISOString().slice(0, 10);
    const dateStyle = r();
    // A CSV export carries dates as the sheet shows them (never serial numbers): ISO, or 2024/3/5 as a Japanese locale shows them.
    const plain = opts.plain && !opts.hard;
    const inquiry =
      plain || dateStyle < 0.6
        ? iso
        : dateStyle < 0.9
          ? iso.replaceAll('-', '/').replace(/\/0/g, '/')
          : iso.replaceAll('-', '/');
    const budget = (20 + Math.floor(r() * 130)) * 1_000_000;
    const budgetStyle = r();
    const budgetText = plain
      ? String(budget)
      : budgetStyle < 0.5
        ? budget.toLocaleString('en-US')
        : budgetStyle < 0.8
          ? String(budget)
          : budgetStyle < 0.95
            ? `¥${budget.toLocaleString('en-US')}`
            : `${budget.toLocaleString('en-US')}円`;
    const followDay = day + 7 + Math.floor(r() * 30);
    const follow =
      r() < 0.7 ? new Date(Date.UTC(1899, 11, 30) + followDay * 86_400_000).toISOString().slice(0, 10) : '';
    let name = `${family} ${given}`;
    let email = `${pick(r, ROMAJI)}.${pad(i, 5)}@example.jp`;
    let address = `${pick(r, WARDS)}${1 + Math.floor(r() * 5)}-${1 + Math.floor(r() * 30)}-${1 + Math.floor(r() * 20)}`;
    let notes = pick(r, NOTES);
    if (which === 0)
      address = `${address} ${pick(r, BUILDINGS)} ${100 + Math.floor(r() * 2900)}号室（管理人室横の通用口エントランスからオートロックを解除して入館）`;
    if (which === 1) notes = pick(r, LONG_NOTES);
    if (which === 2)
      email = `${pick(r, ROMAJI)}.${pick(r, ROMAJI)}.family-relocation-2024.${pad(i, 5)}@corporate-housing.example.co.jp`;
    if (opts.hard) {
      // Most buyers carry notes; one in two thousand a long history of them (up to 20,000 characters).
      const sentences = r() < 0.85 ? 1 + Math.floor(r() * 4) : 0;
      const parts: string[] = [];
      for (let k = 0; k < sentences; k++) parts.push(pick(r, NOTE_SENTENCES));
      if (r() < 0.0005) {
        const target = 2_000 + Math.floor(r() * 18_000);
        let history = '';
        while (history.length < target)
          history += `${pad(1 + Math.floor(r() * 12), 2)}/${pad(1 + Math.floor(r() * 28), 2)} ${pick(r, NOTE_SENTENCES)}\n`;
        parts.push(history.slice(0, target));
      }
      notes = parts.join('') || notes;
    }
    if (which === 3)
      name = `株式会社${family}不動産コンサルティング・アンド・インベストメント 代表取締役社長 ${family} ${given}（法人購入・社宅用途）`;
    const values: Record<string, string> = {
      buyer_number: pad(i, 6),
      name,
      phone: `0${Math.floor(r() * 2) ? '90' : '80'}-${pad(Math.floor(r() * 10000), 4)}-${pad(Math.floor(r() * 10000), 4)}`,
      email,
      address,
      inquiry_date: inquiry,
      inquiry_source: pick(r, SOURCES),
      desired_area: pick(r, AREAS),
      property_type: pick(r, TYPES),
      budget: budgetText,
      status: pick(r, STATUSES),
      assignee: pick(r, ASSIGNEES),
      next_follow_up: follow,
      notes,
    };
    for (const c of columns) if (!(c.column in values)) values[c.column] = otherValue(r, c.type, i);
    if (brokenEvery && i % brokenEvery === 0) {
      const kind = emitted++ % 7;
      if (kind === 0) values.inquiry_date = '2024年3月15日'; // not a supported date format
      if (kind === 1) values.budget = `${Math.round(budget / 10_000)}万円`; // 万 is not a number
      if (kind === 2) values.budget = '#REF!';
      if (kind === 3) values.next_follow_up = '#N/A';
      if (kind === 4) values.inquiry_date = '2024-02-30';
      if (kind === 5) {
        yield arrange({ ...values, buyer_number: '' }); // data but no buyer number
      }
      if (kind === 6) {
        yield arrange(values);
        yield arrange({ ...values, status: '見送り' }); // the same buyer twice
        continue;
      }
    }
    const row = arrange(values);
    yield row;
    if (opts.broken && i % Math.max(500, Math.floor(opts.count / 8)) === 0) yield ['', '', '', ''];
  }
}

/** Writes a generated sheet as a CSV export; `edit` may change a record (by its index, the header being 0) on the way. */
export async function writeCsv(
  file: string,
  opts: GenerateOptions,
  edit?: (index: number, row: string[]) => string[],
): Promise<void> {
  const out = createWriteStream(file);
  let buf = '';
  let index = 0;
  for (const generated of generateRows(opts)) {
    const row = edit ? edit(index, generated) : generated;
    index++;
    buf += csvLine(row);
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

if (import.meta.main) {
  const [file = 'data/sample-buyers.csv', count = '4137'] = process.argv.slice(2);
  await writeCsv(file, { count: Number(count), seed: 20240315, broken: true });
  process.stdout.write(`wrote ${file}\n`);
}
