/** Options of the load generator: parsed from the command line, checked, bounded. */
import { parseArgs } from 'node:util';

export const VIAS = ['kafka', 'http'] as const;
export type Via = (typeof VIAS)[number];

export interface LoadOptions {
  /** Requests offered per second (open loop: sent on schedule, whatever the answers). */
  readonly rate: number;
  /** How long requests are offered, in ms. */
  readonly durationMs: number;
  /** Resources to spread requests over. @default 100 */
  readonly resources: number;
  /** Capacity of each resource. @default 10 */
  readonly capacity: number;
  /** Share of requests (0..1) that go to the one hot resource. @default 0 */
  readonly hotShare: number;
  /** Units per request. @default 1 */
  readonly quantity: number;
  /** Through the producer library straight to Kafka, or through the HTTP API. @default 'kafka' */
  readonly via: Via;
  /** API root for --via http. @default 'http://127.0.0.1:3000' */
  readonly apiUrl: string;
  /** API key (producer or admin role) for --via http; also SLOTSTREAM_API_KEY. */
  readonly apiKey: string | undefined;
  /** Most requests awaiting an answer; past it a scheduled request is counted as not offered. @default 2_000 */
  readonly maxInFlight: number;
  /** How long to wait for decisions after the last request, in ms. @default 15_000 */
  readonly settleMs: number;
  /** Create (or update) the resources first with UpsertResource commands. @default true */
  readonly setup: boolean;
  /** Print the summary as JSON too. @default false */
  readonly json: boolean;
}

/** Hard bounds: this tool must stop by itself and stay a local tool. */
export const LIMITS = {
  maxRate: 50_000,
  maxDurationMs: 600_000,
  maxRequests: 2_000_000,
  maxResources: 100_000,
} as const;

export const USAGE = `usage: npm run load -- --rate N --duration 30s [options]
  --rate N            requests per second offered (open loop), 1..${LIMITS.maxRate}
  --duration D        how long: 30s, 2m or seconds, at most ${LIMITS.maxDurationMs / 1000}s
  --resources N       resources to spread requests over (default 100)
  --capacity N        capacity of each resource (default 10)
  --hot-share F       share of requests for one hot resource, 0..1 (default 0)
  --quantity N        units per request (default 1)
  --via kafka|http    producer library straight to Kafka, or the HTTP API (default kafka)
  --api-url URL       API root for --via http (default http://127.0.0.1:3000; loopback only)
  --api-key KEY       producer or admin API key for --via http (or SLOTSTREAM_API_KEY)
  --max-in-flight N   requests awaiting an answer at most (default 2000)
  --settle D          wait this long for decisions after the last request (default 15s)
  --no-setup          do not create the resources first
  --json              print the summary as JSON as well`;

/** Thrown for a bad command line; the message names the option. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses `30s`, `2m`, `1500ms` or plain seconds into ms. */
export function parseDuration(name: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new UsageError(`--${name}: expected a duration like 30s, 2m or 1500ms, got '${text}'`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(value * (unit === 'ms' ? 1 : unit === 's' ? 1_000 : 60_000));
}

function number(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
  integer = true,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new UsageError(
      `--${name}: expected ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got '${text}'`,
    );
  }
  return value;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export function parseLoadOptions(
  argv: readonly string[],
  env: Record<string, string | undefined> = {},
): LoadOptions {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        rate: { type: 'string' },
        duration: { type: 'string' },
        resources: { type: 'string' },
        capacity: { type: 'string' },
        'hot-share': { type: 'string' },
        quantity: { type: 'string' },
        via: { type: 'string' },
        'api-url': { type: 'string' },
        'api-key': { type: 'string' },
        'max-in-flight': { type: 'string' },
        settle: { type: 'string' },
        'no-setup': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) throw new UsageError('');
  if (v.rate === undefined) throw new UsageError('--rate is required');
  if (v.duration === undefined) throw new UsageError('--duration is required');
  const rate = number('rate', v.rate as string, 0, 1, LIMITS.maxRate);
  const durationMs = parseDuration('duration', v.duration as string);
  if (durationMs < 1 || durationMs > LIMITS.maxDurationMs) {
    throw new UsageError(`--duration: expected at most ${LIMITS.maxDurationMs / 1000}s, got '${v.duration}'`);
  }
  if ((rate * durationMs) / 1000 > LIMITS.maxRequests) {
    throw new UsageError(
      `--rate × --duration offers more than ${LIMITS.maxRequests} requests; lower one of them`,
    );
  }
  const via = (v.via as string | undefined) ?? 'kafka';
  if (!(VIAS as readonly string[]).includes(via))
    throw new UsageError(`--via: expected kafka or http, got '${via}'`);
  const apiUrl = ((v['api-url'] as string | undefined) ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  let host: string;
  try {
    host = new URL(apiUrl).hostname;
  } catch {
    throw new UsageError(`--api-url: expected a URL, got '${apiUrl}'`);
  }
  if (!isLoopback(host))
    throw new UsageError(`--api-url: the load generator only targets loopback, not '${host}'`);
  const apiKey = (v['api-key'] as string | undefined) ?? env.SLOTSTREAM_API_KEY;
  if (via === 'http' && !apiKey) throw new UsageError('--via http needs --api-key (or SLOTSTREAM_API_KEY)');
  return {
    rate,
    durationMs,
    resources: number('resources', v.resources as string | undefined, 100, 1, LIMITS.maxResources),
    capacity: number('capacity', v.capacity as string | undefined, 10, 0, 1_000_000),
    hotShare: number('hot-share', v['hot-share'] as string | undefined, 0, 0, 1, false),
    quantity: number('quantity', v.quantity as string | undefined, 1, 1, 10_000),
    via: via as Via,
    apiUrl,
    apiKey,
    maxInFlight: number('max-in-flight', v['max-in-flight'] as string | undefined, 2_000, 1, 100_000),
    settleMs: v.settle === undefined ? 15_000 : parseDuration('settle', v.settle as string),
    setup: v['no-setup'] !== true,
    json: v.json === true,
  };
}
