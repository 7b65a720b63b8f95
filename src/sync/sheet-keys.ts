/**
 * The sheet snapshot's rows as a read meets them: each buyer number at its
 * first row, in sheet order, and the md5 of the "key NUL row LF" list that
 * the snapshot records (sheet_snapshot.keys_hash). Given the stored
 * snapshot's size, it keeps the same hash over as many first entries, so that
 * a read that starts with the stored list only appends to it (sql/snapshot.ts).
 * The planner (a sync, a verification) and `missing` / the health check fill one.
 */
import { createHash } from 'node:crypto';
import type { KeysPrefix } from './types.ts';

export class SheetKeyList implements Iterable<[string, number]> {
  readonly keys: string[] = [];
  readonly rows: number[] = [];
  private readonly md5 = createHash('md5');
  /** Entries not hashed yet: hashed some kilobytes at a time, not one call each. */
  private pending = '';
  private prefix: KeysPrefix | null = null;
  private readonly prefixAt: number;

  /** `prefixAt`: how many entries the stored snapshot holds (0: none, no prefix kept). */
  constructor(prefixAt = 0) {
    this.prefixAt = prefixAt;
  }

  /** A buyer number the read meets for the first time, at this row. */
  add(key: string, row: number): void {
    this.keys.push(key);
    this.rows.push(row);
    this.pending += `${key}\u0000${row}\n`;
    if (this.keys.length === this.prefixAt) {
      this.hashPending();
      this.prefix = { count: this.prefixAt, hash: this.md5.copy().digest('hex') };
    } else if (this.pending.length >= 1 << 16) {
      this.hashPending();
    }
  }

  get count(): number {
    return this.keys.length;
  }

  /** Each entry as [buyer number, row], in sheet order; as often as asked. */
  *[Symbol.iterator](): Generator<[string, number]> {
    for (let i = 0; i < this.keys.length; i++) yield [this.keys[i]!, this.rows[i]!];
  }

  /** The hash of the whole list, and of its first `prefixAt` entries (null when the read has fewer). Once, after the last add. */
  digest(): { keysHash: string; keysPrefix: KeysPrefix | null } {
    this.hashPending();
    return { keysHash: this.md5.digest('hex'), keysPrefix: this.prefix };
  }

  private hashPending(): void {
    this.md5.update(this.pending);
    this.pending = '';
  }
}
