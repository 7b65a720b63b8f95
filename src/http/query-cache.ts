/**
 * GraphQL query answers shared across clients for a moment: fifty open
 * dashboards refreshing at once cost the database one run of the page's
 * query, not fifty.
 *
 * - Only queries (a document whose every operation is a query), posted as
 *   JSON with a Content-Length; mutations and anything else go straight to
 *   GraphQL and, once answered, empty the cache (an operator's action shows
 *   at once).
 * - Keyed by who asks (the read-only dashboard or the operator), the Accept
 *   header and the request body as sent (query text, variables, operation).
 * - An answer is kept TTL_MS (1 s) and only when it is a 200 without errors;
 *   requests for a key whose answer is being computed wait for it
 *   (single flight) instead of running it again. For one more TTL_MS the
 *   old answer is still given to everyone but the one request that computes
 *   the new one, so the clients do not all wait once a second.
 * - At most MAX_ENTRIES answers of at most MAX_BODY bytes each.
 */
import { parse } from 'postgraphile/graphql';

const QUERY_CACHE_TTL_MS = 1_000;
const MAX_ENTRIES = 64;
const MAX_BODY = 4 * 1024 * 1024;
const MAX_PARSED = 256;

export interface CachedAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Whether a query text is only queries; remembered per text. */
const parsed = new Map<string, boolean>();
function onlyQueries(text: string): boolean {
  let known = parsed.get(text);
  if (known === undefined) {
    try {
      const doc = parse(text, { noLocation: true, maxTokens: 10_000 });
      known =
        doc.definitions.every((d) => d.kind !== 'OperationDefinition' || d.operation === 'query') &&
        doc.definitions.some((d) => d.kind === 'OperationDefinition');
    } catch {
      known = false;
    }
    if (parsed.size >= MAX_PARSED) parsed.delete(parsed.keys().next().value!);
    parsed.set(text, known);
  }
  return known;
}

/** The cache key of a posted body, or null when it is not a cacheable query. */
export function cacheKeyOf(caller: string, accept: string | undefined, body: Buffer): string | null {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
  const q = (json as { query?: unknown }).query;
  if (typeof q !== 'string' || !onlyQueries(q)) return null;
  return `${caller}\n${accept ?? ''}\n${body.toString('utf8')}`;
}

export class QueryCache {
  private readonly answers = new Map<string, { at: number; answer: CachedAnswer }>();
  private readonly pending = new Map<string, Promise<CachedAnswer | null>>();
  /** Bumped by clear(): an answer computed before a mutation is not kept. */
  private generation = 0;

  readonly ttlMs: number;
  private readonly now: () => number;
  constructor(ttlMs = QUERY_CACHE_TTL_MS, now: () => number = Date.now) {
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /** The kept answer of `key`: fresh (younger than the TTL), stale (younger than twice that), or null. */
  get(key: string): { answer: CachedAnswer; fresh: boolean } | null {
    const hit = this.answers.get(key);
    if (!hit) return null;
    const age = this.now() - hit.at;
    if (age >= 2 * this.ttlMs) {
      this.answers.delete(key);
      return null;
    }
    return { answer: hit.answer, fresh: age < this.ttlMs };
  }

  /** The answer being computed for `key`, if any. */
  inFlight(key: string): Promise<CachedAnswer | null> | null {
    return this.pending.get(key) ?? null;
  }

  /** Marks `key` as being computed; the returned function settles it (null: not cacheable). */
  begin(key: string): (answer: CachedAnswer | null) => void {
    let settle!: (a: CachedAnswer | null) => void;
    this.pending.set(key, new Promise((resolve) => (settle = resolve)));
    const generation = this.generation;
    return (answer) => {
      this.pending.delete(key);
      const keep =
        answer !== null &&
        generation === this.generation &&
        this.ttlMs > 0 &&
        answer.status === 200 &&
        answer.body.length <= MAX_BODY &&
        !hasErrors(answer.body);
      if (keep) {
        for (const [k, v] of this.answers) if (this.now() - v.at >= 2 * this.ttlMs) this.answers.delete(k);
        this.answers.delete(key);
        if (this.answers.size >= MAX_ENTRIES) this.answers.delete(this.answers.keys().next().value!);
        this.answers.set(key, { at: this.now(), answer });
      }
      settle(keep ? answer : null);
    };
  }

  clear(): void {
    this.generation++;
    this.answers.clear();
  }
}

function hasErrors(body: Buffer): boolean {
  try {
    const json = JSON.parse(body.toString('utf8')) as { errors?: unknown; data?: unknown };
    return json.errors !== undefined || json.data === undefined || json.data === null;
  } catch {
    return true;
  }
}
