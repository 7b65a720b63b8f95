/**
 * A compact index `buyer number -> (content hash, claiming row)` for a run:
 * open addressing over typed arrays, about 20 bytes a slot, so a million
 * buyers cost tens of megabytes instead of the hundreds a Map of strings
 * costs (the hash strings alone would be 48 bytes each).
 *
 * Buyer numbers are kept as 64-bit hashes and content hashes as the first
 * 64 bits of their md5. Two different buyer numbers sharing a 64-bit hash (odds
 * about 3e-8 in a run over a million buyers) cannot lose a buyer: the row is
 * still written by its real number; at worst the second is reported as a
 * duplicate, in the error log.
 */
const EMPTY = 0;
/** In the database, not seen on the sheet (yet). */
const STORED = -1;
/** In the database, seen on the sheet only on failed rows so far. */
const STORED_SEEN = -2;
/** Not in the database, seen on the sheet only on failed rows so far. */
const SEEN = -3;

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
  /** EMPTY, STORED, STORED_SEEN, SEEN, or the claiming row number (> 0). */
  private state!: Int32Array;
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
    this.state = new Int32Array(size);
  }

  get size(): number {
    return this.used;
  }

  private slot(a: number, b: number): number {
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & this.mask;
    for (;;) {
      if (this.state[i] === EMPTY || (this.k1[i] === a && this.k2[i] === b)) return i;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const { k1, k2, h1, h2, state } = this;
    this.allocate((this.mask + 1) * 2);
    for (let i = 0; i < state.length; i++) {
      if (state[i] === EMPTY) continue;
      const j = this.slot(k1[i]!, k2[i]!);
      this.k1[j] = k1[i]!;
      this.k2[j] = k2[i]!;
      this.h1[j] = h1[i]!;
      this.h2[j] = h2[i]!;
      this.state[j] = state[i]!;
    }
  }

  private place(key: string): number {
    const [a, b] = keyHash(key);
    let i = this.slot(a, b);
    if (this.state[i] === EMPTY) {
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

  /** Records the database's content hash (md5 hex) of a buyer. */
  setStored(key: string, md5hex: string): void {
    const i = this.place(key);
    this.h1[i] = hexWord(md5hex, 0);
    this.h2[i] = hexWord(md5hex, 8);
    this.state[i] = STORED;
  }

  /**
   * A failed sheet row carries this buyer number. Returns whether this is the
   * first time the sheet shows it, and the row that already claimed it (if a
   * valid row did: then the failed row is a duplicate).
   */
  see(key: string): { firstSeen: boolean; claimedBy: number | null } {
    const i = this.place(key);
    const s = this.state[i]!;
    if (s === EMPTY) this.state[i] = SEEN;
    else if (s === STORED) this.state[i] = STORED_SEEN;
    return { firstSeen: s === EMPTY || s === STORED, claimedBy: s > 0 ? s : null };
  }

  /**
   * A valid sheet row claims this buyer number. Returns the row that already
   * claimed it (a duplicate), or whether this is the first time the sheet
   * shows it, whether the database holds it, and with the same content.
   */
  claim(key: string, md5hex: string, row: number): { duplicateOf: number } | { firstSeen: boolean; stored: boolean; unchanged: boolean } {
    const i = this.place(key);
    const s = this.state[i]!;
    if (s > 0) return { duplicateOf: s };
    const stored = s === STORED || s === STORED_SEEN;
    const unchanged = stored && this.h1[i] === hexWord(md5hex, 0) && this.h2[i] === hexWord(md5hex, 8);
    this.state[i] = row;
    return { firstSeen: s === EMPTY || s === STORED, stored, unchanged };
  }

  /** Whether the sheet showed this buyer number, on any row. */
  onSheet(key: string): boolean {
    const [a, b] = keyHash(key);
    const s = this.state[this.slot(a, b)]!;
    return s !== EMPTY && s !== STORED;
  }
}
