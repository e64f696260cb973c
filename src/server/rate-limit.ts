/**
 * Rate limiting: a token bucket per key (a client address, an API token's participant), each
 * holding up to `perMinute` requests and refilling at perMinute / 60 per second, so a client
 * may burst a minute's worth and then goes at the steady rate. In memory: a restarted server
 * starts with full buckets, which is harmless (the caps on submissions are in the database).
 */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number, private readonly maxKeys = 100_000) {}

  /** Takes one request from `key`'s bucket; when empty, the seconds until one is back. */
  take(key: string, now = Date.now()): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * rate);
    b.at = now;
    if (this.buckets.size >= this.maxKeys && !this.buckets.has(key)) this.prune(now);
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.ceil((1 - b.tokens) / rate / 1000) };
  }

  /** Drops buckets that have refilled completely (they hold no state worth keeping). */
  private prune(now: number): void {
    const full = this.perMinute / (this.perMinute / 60_000);
    for (const [k, b] of this.buckets) if (now - b.at >= full) this.buckets.delete(k);
  }
}
