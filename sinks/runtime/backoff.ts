/** Exponential backoff with full jitter: attempt n waits a random time in [0, min(max, initial * factor^(n-1))]. */

export interface BackoffOptions {
  /** Upper bound of the first wait. @default 200 */
  readonly initialRetryMs: number;
  /** Cap of any wait. @default 30_000 */
  readonly maxRetryMs: number;
  /** Growth per attempt. @default 2 */
  readonly retryFactor: number;
}

/**
 * The wait before the retry that follows failed attempt `attempt` (1-based). Full jitter spreads the retries
 * of many partitions and many instances, so a recovering database is not hit by all of them at once; a floor
 * of a tenth of the ceiling keeps a retry from being immediate.
 */
export function backoffMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(options.maxRetryMs, options.initialRetryMs * options.retryFactor ** exponent);
  const floor = ceiling / 10;
  return Math.round(floor + random() * (ceiling - floor));
}
