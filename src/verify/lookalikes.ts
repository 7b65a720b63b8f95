/**
 * Look-alike buyer numbers already in the database (buyer_sync.lookalike_buyers,
 * migration 062): two or more buyer numbers that are one number written
 * differently (full-width characters, invisible characters, surrounding
 * spaces: their fold, buyer_sync.fold_key, is the same), that is two rows for
 * one buyer; and buyer numbers made only of invisible characters. The sync
 * no longer lets either in (src/sync/lookalikes.ts), but a database synced by
 * an earlier version, or written by hand, may hold them: `verify` fails and
 * `health` is unhealthy while they are there, naming them.
 */
import { printable } from '../printable.ts';
import type { Queryable } from '../sync/types.ts';

export interface LookalikeGroup {
  /** The fold the buyer numbers share ('' for numbers made only of invisible characters). */
  foldedKey: string;
  /** The buyer numbers, as stored (code point order). */
  buyerNumbers: string[];
}

/** The look-alike groups in buyers (set-based: only the non-ASCII buyer numbers are folded). */
export async function lookalikeGroups(db: Queryable): Promise<LookalikeGroup[]> {
  const { rows } = await db.query<{ folded_key: string; buyer_numbers: string[] }>(
    `select folded_key, buyer_numbers from buyer_sync.lookalike_buyers order by folded_key collate "C"`,
  );
  return rows.map((r) => ({ foldedKey: r.folded_key, buyerNumbers: r.buyer_numbers }));
}

function quotedList(keys: readonly string[], max = 5): string {
  const shown = keys.slice(0, max).map((k) => printable(k, 40));
  const rest = keys.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  return shown.length === 1 ? shown[0]! : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)!}`;
}

/** One group in a sentence (buyer numbers escaped: an invisible character shows as \u{200b}). */
export function describeGroup(g: LookalikeGroup): string {
  if (g.foldedKey === '') {
    return g.buyerNumbers.length === 1
      ? `buyer number ${quotedList(g.buyerNumbers)} in the database is made only of invisible characters or spaces: a buyer no one can look up by number`
      : `buyer numbers ${quotedList(g.buyerNumbers)} in the database are made only of invisible characters or spaces: buyers no one can look up by number`;
  }
  return (
    `buyer numbers ${quotedList(g.buyerNumbers)} in the database are one number written ${g.buyerNumbers.length} ways ` +
    `(full-width or invisible characters, surrounding spaces): ${g.buyerNumbers.length} rows for one buyer ${printable(g.foldedKey, 40)}`
  );
}

/** Health issues: one a group (at most `max`, then one that counts the rest). */
export function lookalikeIssues(groups: readonly LookalikeGroup[], max = 10): string[] {
  const issues = groups
    .slice(0, max)
    .map((g) => `${describeGroup(g)}; merge them by hand (see buyer_sync.lookalike_buyers)`);
  if (groups.length > max)
    issues.push(
      `${groups.length - max} more groups of look-alike buyer numbers in the database (buyer_sync.lookalike_buyers lists them all)`,
    );
  return issues;
}
