/**
 * The Sheets API allows 60 read requests per minute per user (and 300 per
 * project). One limiter per credential, shared by every request made with it
 * in this process, spaces requests so the quota is never exceeded in the
 * first place: a token bucket of `perMinute` tokens refilled continuously.
 */
export class RateLimiter {
  private tokens: number;
  private last = Date.now();
  private queue: Promise<void> = Promise.resolve();
  readonly perMinute: number;
  constructor(perMinute: number) {
    this.perMinute = perMinute;
    this.tokens = perMinute;
  }

  /** Resolves when a request may be sent. Callers are served in order. */
  acquire(): Promise<void> {
    const turn = this.queue.then(() => this.take());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** After a 429, stop sending until `ms` from now. */
  pause(ms: number): void {
    this.tokens = Math.min(this.tokens, 0) - (ms / 60_000) * this.perMinute;
  }

  private async take(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.perMinute, this.tokens + ((now - this.last) / 60_000) * this.perMinute);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.perMinute) * 60_000)));
    }
  }
}

const limiters = new Map<string, RateLimiter>();

export function limiterFor(identity: string, perMinute: number): RateLimiter {
  let l = limiters.get(identity);
  if (!l) {
    l = new RateLimiter(perMinute);
    limiters.set(identity, l);
  }
  return l;
}
