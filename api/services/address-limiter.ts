/**
 * The per-address budget of requests that are not (yet) known to carry a valid API key, checked before
 * the key lookup so that a flood of invented keys from one address costs no database query once spent.
 *
 * A request whose key is not answered from the key cache is charged one unit before its key is looked up
 * and refunded when the key proves valid, so clients with valid keys never spend the budget (they are
 * limited per key, by role, after authentication), while missing, malformed, unknown and revoked keys, and
 * lookups still in flight, do.
 * Windows are fixed, one minute long, per address; the table of addresses is an LRU, so it stays bounded
 * whatever the number of addresses.
 */
import { Lru } from './lru.ts';

interface Window {
  start: number;
  used: number;
}

export interface AddressLimiterOptions {
  /** Units per address per window. */
  readonly max: number;
  /** @default 60_000 (one minute) */
  readonly windowMs?: number;
  /** Addresses remembered at once. @default 10_000 */
  readonly maxAddresses?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** What `charge` answers: allowed, or refused with the seconds until the address's window resets. */
export type Charge = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Fixed-window counters of unauthenticated requests, by client address. */
export class AddressLimiter {
  readonly max: number;
  private readonly windowMs: number;
  private readonly clock: () => number;
  private readonly windows: Lru<string, Window>;

  constructor(options: AddressLimiterOptions) {
    this.max = options.max;
    this.windowMs = options.windowMs ?? 60_000;
    this.clock = options.clock ?? Date.now;
    this.windows = new Lru(options.maxAddresses ?? 10_000);
  }

  /** Spends one unit of `address`'s budget, or refuses when it is spent. */
  charge(address: string): Charge {
    const now = this.clock();
    let window = this.windows.get(address);
    if (!window || now - window.start >= this.windowMs) {
      window = { start: now, used: 0 };
      this.windows.set(address, window);
    }
    if (window.used >= this.max) {
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000)),
      };
    }
    window.used += 1;
    return { allowed: true };
  }

  /** Gives back the unit a request spent, once its key proved valid. */
  refund(address: string): void {
    const window = this.windows.get(address);
    if (window && window.used > 0) window.used -= 1;
  }
}
