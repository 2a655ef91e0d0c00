/**
 * Settings of the payment sink: defaults here, the environment (PAYMENT_*) overrides them, a caller (a
 * test) overrides both. Units are in the names.
 */
import { ConfigError, type Env, optionalEnvInt } from '../../common/config.ts';
import type { SinkRuntimeOptions } from '../runtime/options.ts';

export interface PaymentSinkOptions {
  /**
   * The payment method charged for every hold. The contract carries no payment method of the customer's
   * yet, so this is a Stripe test method; a live deployment needs the customer's saved method (a schema
   * change). @default 'pm_card_visa'
   */
  readonly paymentMethod: string;
  /** A gateway request that takes longer has an unknown outcome and is retried with the same key. @default 10_000 */
  readonly gatewayTimeoutMs: number;
  /** Reservations handled at the same time within a batch (each one's events stay in order). @default 8 */
  readonly concurrency: number;
  /**
   * A hold that expires within this long is not charged any more (if the charge were captured after the
   * expiry, it would only be refunded). Also absorbs some skew between the decider's clock and ours.
   * @default 2_000
   */
  readonly chargeMarginMs: number;
  /**
   * How often the reconciler (./reconciler.ts) looks for results recorded as sent but never decided; it
   * also runs once at start. 0 = never (a sink without a decider behind it, in tests). @default 30_000
   */
  readonly reconcileIntervalMs: number;
  /**
   * A result is sent again only once it was last sent this long ago and the sink has read every event
   * written this long after it: longer than the decider takes to decide a command, so that lag is not
   * mistaken for loss. @default 60_000
   */
  readonly reconcileGraceMs: number;
  /** Results sent again per pass at most (the oldest first). @default 500 */
  readonly reconcileLimit: number;
  /**
   * A result still undecided after this many re-sends (the decider dead-letters it?) is not sent again: it
   * is logged as an error at every pass and `payments:check` reports it. @default 10
   */
  readonly reconcileMaxResends: number;
}

export const paymentDefaults = {
  paymentMethod: 'pm_card_visa',
  gatewayTimeoutMs: 10_000, // ten seconds
  concurrency: 8,
  chargeMarginMs: 2_000, // two seconds
  reconcileIntervalMs: 30_000, // half a minute
  reconcileGraceMs: 60_000, // one minute
  reconcileLimit: 500,
  reconcileMaxResends: 10,
} satisfies PaymentSinkOptions;

/**
 * Runtime settings the payment sink prefers: gateway calls take tens of milliseconds each, so batches stay
 * small enough to be committed every few seconds.
 */
export const paymentRuntimeDefaults = {
  maxBatchEvents: 200,
} satisfies Partial<SinkRuntimeOptions>;

/** The settings the environment gives; a malformed value throws ConfigError naming the key. */
export function paymentOptionsFromEnv(env: Env = process.env): Partial<PaymentSinkOptions> {
  const method = env.PAYMENT_METHOD;
  if (method !== undefined && method !== '' && !/^(pm|card|src)_[A-Za-z0-9_]+$/.test(method)) {
    throw new ConfigError('PAYMENT_METHOD', `expected a Stripe payment method id (pm_…), got '${method}'`);
  }
  const entries: [keyof PaymentSinkOptions, number | string | undefined][] = [
    ['paymentMethod', method || undefined],
    ['gatewayTimeoutMs', optionalEnvInt(env, 'PAYMENT_GATEWAY_TIMEOUT_MS', 100, 120_000)],
    ['concurrency', optionalEnvInt(env, 'PAYMENT_CONCURRENCY', 1, 256)],
    ['chargeMarginMs', optionalEnvInt(env, 'PAYMENT_CHARGE_MARGIN_MS', 0, 3_600_000)],
    ['reconcileIntervalMs', optionalEnvInt(env, 'PAYMENT_RECONCILE_INTERVAL_MS', 0, 86_400_000)],
    ['reconcileGraceMs', optionalEnvInt(env, 'PAYMENT_RECONCILE_GRACE_MS', 0, 86_400_000)],
    ['reconcileLimit', optionalEnvInt(env, 'PAYMENT_RECONCILE_LIMIT', 1, 100_000)],
    ['reconcileMaxResends', optionalEnvInt(env, 'PAYMENT_RECONCILE_MAX_RESENDS', 1, 1_000_000)],
  ];
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}

/** Merges the layers over the defaults; the result is frozen. */
export function compilePaymentOptions(
  ...layers: (Partial<PaymentSinkOptions> | undefined)[]
): PaymentSinkOptions {
  return Object.freeze(Object.assign({}, paymentDefaults, ...layers.filter(Boolean)));
}
