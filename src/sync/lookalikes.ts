/**
 * Buyer numbers that look alike: equal after Unicode NFKC normalization, yet
 * written differently. `１２３` (full-width digits, what a Japanese IME types)
 * and `123`; `José` composed and `José` decomposed; `B 7` with an ideographic
 * space; `123` with a zero-width space after it. To a person they are one
 * buyer; to a database two. The sync never
 * merges them and never lets them pass as two buyers without a word: the
 * first row to show a spelling owns it, and every row that writes the same
 * number another way fails as a duplicate (constraint_violation), naming the
 * row it collides with.
 *
 * Cheap for the common case: an ASCII buyer number is its own normal form, so
 * only numbers with other characters are normalized, and only spellings whose
 * normal form differs from them are remembered.
 */

// eslint-disable-next-line no-control-regex -- all of ASCII, controls included
const ASCII = /^[\x00-\x7f]*$/;

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
    const normal = normalForm(key);
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

/** Invisible characters (zero-width spaces and joiners, soft hyphens, variation selectors…): no one sees them in a buyer number. */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu;

/** A buyer number as a person reads it: NFKC, without invisible characters (how `--only` matches, too). */
export function normalForm(key: string): string {
  return ASCII.test(key) ? key : key.normalize('NFKC').replace(INVISIBLE, '');
}
