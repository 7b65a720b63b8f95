/**
 * Wrong operator tokens, slowed per client: after LIMIT refused
 * Authorization headers from one address within WINDOW_MS, every request of
 * that address that carries one is answered 429 (with Retry-After) without
 * looking at the token, until the oldest of those failures is WINDOW_MS old.
 * Requests without a token (the read-only page) are never limited, and other
 * addresses are not affected. An IPv6 client counts by its /64 (one host
 * has a whole /64 to pick addresses from).
 *
 * Behind a reverse proxy every client has the proxy's address: the limit is
 * then the proxy's (X-Forwarded-For is not trusted).
 */
import { isIPv6 } from 'node:net';

export const TOKEN_FAILURE_LIMIT = 5;
const TOKEN_FAILURE_WINDOW_MS = 60_000;
/** Addresses remembered at most; the oldest are forgotten first. */
const MAX_CLIENTS = 10_000;

/** The full eight groups of an IPv6 address. */
function ipv6Groups(address: string): string[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  if (tail === undefined) return h;
  const t = tail === '' ? [] : tail.split(':');
  return [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
}

/** Who a failure counts against: the IPv4 address, or the IPv6 /64. */
export function clientKey(remoteAddress: string | undefined): string {
  const a = (remoteAddress ?? 'unknown').toLowerCase().replace(/%.*$/, '');
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) return v4[1]!;
  if (!isIPv6(a) || a.includes('.')) return a;
  return `${ipv6Groups(a)
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export class TokenFailureLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  constructor(limit = TOKEN_FAILURE_LIMIT, windowMs = TOKEN_FAILURE_WINDOW_MS, now: () => number = Date.now) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.now = now;
  }

  private recent(key: string): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const from = this.now() - this.windowMs;
    const kept = list.filter((t) => t > from);
    if (kept.length === 0) this.failures.delete(key);
    else if (kept.length !== list.length) this.failures.set(key, kept);
    return kept;
  }

  /** Seconds the client must wait before its next token is looked at, or 0. */
  retryAfter(remoteAddress: string | undefined): number {
    const list = this.recent(clientKey(remoteAddress));
    if (list.length < this.limit) return 0;
    return Math.max(1, Math.ceil((list[list.length - this.limit]! + this.windowMs - this.now()) / 1000));
  }

  /** A refused token. */
  fail(remoteAddress: string | undefined): void {
    const key = clientKey(remoteAddress);
    const list = this.recent(key);
    list.push(this.now());
    this.failures.delete(key);
    this.failures.set(key, list.slice(-this.limit));
    if (this.failures.size > MAX_CLIENTS) this.failures.delete(this.failures.keys().next().value!);
  }

  /** A right token: the client's earlier mistakes are forgiven. */
  succeed(remoteAddress: string | undefined): void {
    this.failures.delete(clientKey(remoteAddress));
  }
}
