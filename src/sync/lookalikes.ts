/**
 * Buyer numbers that look alike: one buyer number written two ways. `１２３`
 * (full-width digits, what a Japanese IME types) and `123`; `José` composed
 * and `José` decomposed; `123` with a zero-width space, word joiner, soft
 * hyphen or bidi mark in it; `B7` with an ideographic space next to an
 * invisible character. To a person they are one buyer; to a database two.
 *
 * The comparison is the key's fold (foldKey): Unicode NFKC, without invisible
 * format characters, without surrounding white space. The SQL function
 * buyer_sync.fold_key (db/migrations/062_buyer_key_folding.sql) is the same
 * fold, character for character (test/key-folding.test.ts checks every
 * dropped code point against PostgreSQL).
 *
 * The sync never merges look-alikes and never lets them pass as two buyers
 * without a word:
 * - against the database (StoredLookalikes): a row whose buyer number is not
 *   a buyer's number exactly, but folds like one, fails as a
 *   constraint_violation naming the existing buyer number;
 * - within the sheet (LookalikeGuard): the first row to show a spelling owns
 *   it, and every row that writes the same number another way fails as a
 *   duplicate (constraint_violation), naming the row it collides with.
 * A buyer number that folds to nothing (only invisible characters) is no
 * buyer number at all (rows.ts).
 *
 * Cheap for the common case: a plain key (printable ASCII, no surrounding
 * space) is its own fold, so only other keys are ever folded, and only the
 * database's non-plain keys are loaded (a partial index holds them).
 */

/**
 * The code points a fold drops: every character of Unicode's general category
 * Cf (format: soft hyphen, zero-width space and joiners, word joiner, bidi
 * marks and isolates, BOM, interlinear annotation, Arabic and Egyptian format
 * marks, tags) and every Default_Ignorable_Code_Point (variation selectors,
 * Hangul fillers, combining grapheme joiner, the reserved ranges), as of
 * Unicode 17. Written out rather than as \p{…} so that a newer Node (another
 * Unicode version) cannot change the fold behind the SQL function's back; the
 * same ranges, as \uXXXX / \UXXXXXXXX, are in buyer_sync.fold_key.
 */
export const DROPPED_RANGES: readonly (readonly [number, number])[] = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x0600, 0x0605],
  [0x061c, 0x061c],
  [0x06dd, 0x06dd],
  [0x070f, 0x070f],
  [0x0890, 0x0891],
  [0x08e2, 0x08e2],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x206f],
  [0x3164, 0x3164],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
  [0xfff0, 0xfffb],
  [0x110bd, 0x110bd],
  [0x110cd, 0x110cd],
  [0x13430, 0x1343f],
  [0x1bca0, 0x1bca3],
  [0x1d173, 0x1d17a],
  [0xe0000, 0xe0fff],
];

/**
 * White space a fold trims from both ends (after NFKC, which has already made
 * U+3000, U+00A0, U+2000–U+200A, U+202F and U+205F plain spaces): what
 * JavaScript's trim() removes, minus U+FEFF (dropped anyway). The SQL
 * function trims exactly these.
 */
export const TRIMMED = [
  0x09,
  0x0a,
  0x0b,
  0x0c,
  0x0d,
  0x20,
  0xa0,
  0x1680,
  ...range(0x2000, 0x200a),
  0x2028,
  0x2029,
  0x202f,
  0x205f,
  0x3000,
];

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const hex = (cp: number) => `\\u{${cp.toString(16)}}`;
const DROPPED = new RegExp(
  `[${DROPPED_RANGES.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join('')}]`,
  'gu',
);
const TRIM_CLASS = `[${TRIMMED.map(hex).join('')}]+`;
const SURROUNDING = new RegExp(`^${TRIM_CLASS}|${TRIM_CLASS}$`, 'gu');

/** Printable ASCII without surrounding spaces: its own fold, never folded. The migration's partial index uses the same test. */
const PLAIN = /^[!-~](?:[ -~]*[!-~])?$/;

/**
 * A buyer number as a person reads it: NFKC, without invisible format
 * characters (DROPPED_RANGES), then NFKC again (a dropped character may have
 * kept a letter and its accent apart), without surrounding white space. ''
 * when nothing visible is left: no buyer number at all. Equal to SQL's
 * buyer_sync.fold_key(key).
 */
export function foldKey(key: string): string {
  if (PLAIN.test(key)) return key;
  return key.normalize('NFKC').replace(DROPPED, '').normalize('NFKC').replace(SURROUNDING, '');
}

export interface Lookalike {
  /** The spelling that came first, and its row. */
  spelling: string;
  row: number;
}

export class LookalikeGuard {
  /** normal form -> the first spelling of it that is not the normal form itself */
  private readonly variants = new Map<string, Lookalike>();
  /** spelling -> the earlier spelling it collides with */
  private readonly blocked = new Map<string, Lookalike>();
  /** The first sheet row showing exactly this spelling (the run's KeyIndex). */
  private readonly firstRowOf: (spelling: string) => number | null;
  constructor(firstRowOf: (spelling: string) => number | null) {
    this.firstRowOf = firstRowOf;
  }

  /** How many spellings collided with an earlier one. */
  get collisions(): number {
    return this.blocked.size;
  }

  /**
   * Row `row` carries buyer number `key`; `firstSeen` says whether it is the
   * first row with exactly this spelling. Returns the earlier spelling it
   * collides with, or null.
   */
  check(key: string, row: number, firstSeen: boolean): Lookalike | null {
    if (!firstSeen) return this.blocked.get(key) ?? null;
    const normal = foldKey(key);
    let earlier: Lookalike | null = null;
    if (normal !== key) {
      earlier = this.variants.get(normal) ?? null;
      if (earlier === null) {
        const plain = this.firstRowOf(normal);
        if (plain !== null) earlier = { spelling: normal, row: plain };
      }
      if (earlier === null) this.variants.set(normal, { spelling: key, row });
    } else {
      earlier = this.variants.get(key) ?? null;
    }
    if (earlier !== null) this.blocked.set(key, earlier);
    return earlier;
  }
}

/**
 * The database's look-alikes for a pass: the buyer numbers that are not
 * plain (loaded once, set-based, at the start of the pass: see
 * loadFoldCandidates), by fold. A sheet key that is a buyer's number exactly
 * is that buyer; one that is not, but folds like a buyer's number, is a
 * look-alike of it.
 */
export class StoredLookalikes {
  /** fold -> the stored non-plain spellings with that fold, in load order */
  private readonly byFold = new Map<string, string[]>();
  /** Every key loaded (non-plain ones, and the plain keys asked for by fold). */
  private readonly loaded = new Set<string>();
  /** Whether the database holds this buyer number exactly (the run's KeyIndex). */
  private readonly held: (key: string) => boolean;
  /** Sheet keys that collided with a stored buyer number. */
  private readonly collided = new Set<string>();

  constructor(held: (key: string) => boolean) {
    this.held = held;
  }

  /** A buyer number the database holds (from the pass's load). */
  add(key: string): void {
    this.loaded.add(key);
    if (PLAIN.test(key)) return;
    const fold = foldKey(key);
    const list = this.byFold.get(fold);
    if (list) list.push(key);
    else this.byFold.set(fold, [key]);
  }

  private holds(key: string): boolean {
    return this.loaded.has(key) || this.held(key);
  }

  /** Whether `key` already collided with a stored buyer number (its rows fail; it owns no spelling on the sheet). */
  collidedBefore(key: string): boolean {
    return this.collided.has(key);
  }

  /** How many distinct sheet spellings collided with a stored buyer number. */
  get collisions(): number {
    return this.collided.size;
  }

  /**
   * The stored buyer number that `key` looks like without being it, or null
   * (the key is a buyer's number exactly, or like none). A plain key costs a
   * map lookup, and nothing while the database holds no non-plain key.
   */
  check(key: string): string | null {
    const plain = PLAIN.test(key);
    if (plain && this.byFold.size === 0) return null;
    if (this.holds(key)) return null;
    const fold = plain ? key : foldKey(key);
    let found: string | null = null;
    if (!plain && fold !== key && fold !== '' && this.holds(fold)) found = fold;
    found ??= this.byFold.get(fold)?.find((k) => k !== key) ?? null;
    if (found !== null) this.collided.add(key);
    return found;
  }
}
