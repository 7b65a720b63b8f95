/**
 * A compact index `buyer number -> (content hash, first row, claiming row)`
 * for a run: open addressing over typed arrays, 25 bytes a slot, so a million
 * buyers cost tens of megabytes instead of the hundreds a Map of strings
 * costs (the hash strings alone would be 48 bytes each).
 *
 * Buyer numbers are kept as 64-bit hashes and content hashes as the first
 * 64 bits of their md5. Two different buyer numbers sharing a 64-bit hash (odds
 * about 3e-8 in a run over a million buyers) cannot lose a buyer: the row is
 * still written by its real number; at worst the second is reported as a
 * duplicate, in the error log.
 */

/** Two independent 32-bit hashes of a string (FNV-1a and a murmur-style mix). */
function keyHash(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  b = Math.imul(b ^ (b >>> 15), 0x2c1b3c6d);
  return [a >>> 0, (b ^ (b >>> 12)) >>> 0];
}

function hexWord(hex: string, at: number): number {
  return parseInt(hex.slice(at, at + 8), 16) >>> 0;
}

export class KeyIndex {
  private mask!: number;
  private k1!: Uint32Array;
  private k2!: Uint32Array;
  private h1!: Uint32Array;
  private h2!: Uint32Array;
  /** 1 when the database holds the buyer (its content hash is in h1/h2). */
  private stored!: Uint8Array;
  /** The first sheet row showing the buyer number (0: not on the sheet so far). */
  private first!: Int32Array;
  /** The row that claimed (synced) the buyer number (0: none so far). */
  private claimant!: Int32Array;
  private used = 0;

  constructor(expected = 1024) {
    let size = 1024;
    while (size < expected * 2) size *= 2;
    this.allocate(size);
  }

  /** Fresh, empty slot arrays of `size` slots. */
  private allocate(size: number): void {
    this.mask = size - 1;
    this.k1 = new Uint32Array(size);
    this.k2 = new Uint32Array(size);
    this.h1 = new Uint32Array(size);
    this.h2 = new Uint32Array(size);
    this.stored = new Uint8Array(size);
    this.first = new Int32Array(size);
    this.claimant = new Int32Array(size);
  }

  get size(): number {
    return this.used;
  }

  private isEmpty(i: number): boolean {
    return this.stored[i] === 0 && this.first[i] === 0;
  }

  private slot(a: number, b: number): number {
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & this.mask;
    for (;;) {
      if (this.isEmpty(i) || (this.k1[i] === a && this.k2[i] === b)) return i;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const { k1, k2, h1, h2, stored, first, claimant } = this;
    this.allocate((this.mask + 1) * 2);
    for (let i = 0; i < k1.length; i++) {
      if (stored[i] === 0 && first[i] === 0) continue;
      const j = this.slot(k1[i]!, k2[i]!);
      this.k1[j] = k1[i]!;
      this.k2[j] = k2[i]!;
      this.h1[j] = h1[i]!;
      this.h2[j] = h2[i]!;
      this.stored[j] = stored[i]!;
      this.first[j] = first[i]!;
      this.claimant[j] = claimant[i]!;
    }
  }

  /** The slot of `key`, made ready to be filled (a slot counts as used once stored or first is set). */
  private place(key: string): number {
    const [a, b] = keyHash(key);
    let i = this.slot(a, b);
    if (this.isEmpty(i)) {
      if ((this.used + 1) * 2 > this.mask + 1) {
        this.grow();
        i = this.slot(a, b);
      }
      this.k1[i] = a;
      this.k2[i] = b;
      this.used++;
    }
    return i;
  }

  private find(key: string): number | null {
    const [a, b] = keyHash(key);
    const i = this.slot(a, b);
    return this.isEmpty(i) ? null : i;
  }

  /** Records the database's content hash (md5 hex) of a buyer. */
  setStored(key: string, md5hex: string): void {
    const i = this.place(key);
    this.h1[i] = hexWord(md5hex, 0);
    this.h2[i] = hexWord(md5hex, 8);
    this.stored[i] = 1;
  }

  /**
   * Sheet row `row` shows this buyer number (valid or not). Returns its slot,
   * whether this is the first row to show it, and the row that already
   * claimed it, if a valid row did (then this row is a duplicate).
   */
  visit(key: string, row: number): { slot: number; firstSeen: boolean; claimedBy: number | null } {
    const i = this.place(key);
    const firstSeen = this.first[i] === 0;
    if (firstSeen) this.first[i] = row;
    const c = this.claimant[i]!;
    return { slot: i, firstSeen, claimedBy: c > 0 ? c : null };
  }

  /**
   * A valid row claims the buyer number of a slot `visit` returned unclaimed.
   * Says whether the database holds the buyer, and with this content (the
   * content hash, or a row whose hash is read only if it does).
   */
  claim(
    slot: number,
    content: string | { readonly hash: string },
    row: number,
  ): { stored: boolean; unchanged: boolean } {
    this.claimant[slot] = row;
    const stored = this.stored[slot] === 1;
    if (!stored) return { stored, unchanged: false };
    // The row's hash is asked for only here: a buyer the database does not hold has nothing to compare.
    const hex = typeof content === 'string' ? content : content.hash;
    return { stored, unchanged: this.h1[slot] === hexWord(hex, 0) && this.h2[slot] === hexWord(hex, 8) };
  }

  /** The row that claimed (synced) this buyer number, or null. */
  claimedRow(key: string): number | null {
    const i = this.find(key);
    return i === null || this.claimant[i] === 0 ? null : this.claimant[i]!;
  }

  /** Whether the database holds this buyer number (as loaded for the run). */
  held(key: string): boolean {
    const i = this.find(key);
    return i !== null && this.stored[i] === 1;
  }

  /** The first sheet row that showed this buyer number, or null. */
  firstRow(key: string): number | null {
    const i = this.find(key);
    return i === null || this.first[i] === 0 ? null : this.first[i]!;
  }

  /** Whether the sheet showed this buyer number, on any row. */
  onSheet(key: string): boolean {
    return this.firstRow(key) !== null;
  }
}
