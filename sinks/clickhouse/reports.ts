/**
 * The reports, as named queries over the `events` fact table that the API can serve and an analyst can
 * read. Every parameter is typed and validated (./params.ts) and bound as a ClickHouse `{name:Type}` query
 * parameter: no client text is ever spliced into SQL.
 *
 * Correct under duplicates: counts of events read `FROM events FINAL` (copies of an event collapse); the
 * state of a reservation is rebuilt with argMax(…, version) over its events, which copies cannot change.
 * All times are UTC; a range is [from, to) in whole days.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import {
  checkRange,
  dateParam,
  enumParam,
  InvalidReportParameterError,
  intParam,
  optionalIdParam,
  type ParamType,
} from './params.ts';

const LIFECYCLE = `('ReservationHeld', 'ReservationReopened', 'ReservationConfirmed', 'ReservationCancelled',
  'ReservationPaymentFailed', 'ReservationExpired', 'ReservationCompleted')`;
const TERMS = `event_type IN ('ReservationHeld', 'ReservationReopened')`;
const RESOURCE_FILTER = `({resourceId:String} = '' OR resource_id = {resourceId:String})`;
const FROM_TIME = `toDateTime64({from:Date}, 3, 'UTC')`;
const TO_TIME = `toDateTime64({to:Date}, 3, 'UTC')`;
const IN_RANGE = `decided_at >= ${FROM_TIME} AND decided_at < ${TO_TIME}`;
// Pre-filters: the reservations a report can concern, found through the sorting key (event type, day) or a
// narrow scan; only their events are then aggregated, not every reservation ever made.
const OVERLAPPING = `SELECT reservation_id FROM events
  WHERE ${TERMS} AND start_at < ${TO_TIME} AND end_at > ${FROM_TIME} AND ${RESOURCE_FILTER}`;
const HELD_IN_RANGE = `SELECT reservation_id FROM events
  WHERE event_type = 'ReservationHeld' AND ${IN_RANGE} AND ${RESOURCE_FILTER}`;
const CONFIRMED_IN_RANGE = `SELECT reservation_id FROM events
  WHERE event_type = 'ReservationConfirmed' AND ${IN_RANGE} AND ${RESOURCE_FILTER}`;
const RESOURCE_NAMES = `(
  SELECT resource_id, argMax(resource_name, version) AS resource_name, argMax(capacity, version) AS capacity
  FROM events WHERE event_type = 'ResourceUpserted' GROUP BY resource_id
)`;

const range = { from: dateParam, to: dateParam };
const rangeAndResource = { ...range, resourceId: optionalIdParam };

export interface OccupancyRow {
  /** YYYY-MM-DD */
  day: string;
  resource_id: string;
  resource_name: string;
  capacity: number;
  /** Σ quantity × hours of Confirmed and Completed reservations within the day. */
  booked_unit_hours: number;
  /** booked_unit_hours / (capacity × 24); null when the capacity is 0 or unknown. */
  occupancy: number | null;
}

export interface BookingsPerHourRow {
  /** Start of the hour, ISO 8601 UTC. */
  hour: string;
  held: number;
  confirmed: number;
  units_held: number;
}

export interface RatesRow {
  resource_id: string;
  held: number;
  cancelled: number;
  expired: number;
  cancellation_rate: number;
  expiry_rate: number;
}

export interface RevenueRow {
  resource_id: string;
  currency: string;
  reservations: number;
  revenue_minor: number;
}

export interface TopResourceRow {
  resource_id: string;
  resource_name: string;
  bookings: number;
  units: number;
}

export interface RejectionReasonRow {
  reason: string;
  command_type: string;
  rejections: number;
}

interface ReportDefinition<P extends Record<string, unknown>, R> {
  readonly title: string;
  readonly description: string;
  readonly params: { readonly [K in keyof P]: ParamType<P[K]> };
  /** Longest [from, to) range, in days. */
  readonly maxDays: number;
  readonly sql: (params: P) => string;
  /** Only for the row type. */
  readonly row?: R;
}

function define<P extends Record<string, unknown>, R>(definition: ReportDefinition<P, R>) {
  return definition;
}

export const reports = {
  occupancy: define<{ from: string; to: string; resourceId: string }, OccupancyRow>({
    title: 'Occupancy per resource per day',
    description:
      'For each day and resource with bookings: unit-hours booked by Confirmed and Completed reservations ' +
      '(quantity × hours of the period within the day) and that as a share of capacity × 24 h.',
    params: rangeAndResource,
    maxDays: 366,
    sql: () => `
      SELECT toString(day) AS day, b.resource_id AS resource_id, any(n.resource_name) AS resource_name,
        any(n.capacity) AS capacity, round(sum(b.quantity * b.hours), 3) AS booked_unit_hours,
        if(any(n.capacity) = 0, NULL, round(booked_unit_hours / (any(n.capacity) * 24), 6)) AS occupancy
      FROM (
        SELECT r.resource AS resource_id, r.units AS quantity, day,
          dateDiff('millisecond', greatest(r.period_start, toDateTime64(day, 3, 'UTC')),
            least(r.period_end, toDateTime64(day + 1, 3, 'UTC'))) / 3600000 AS hours
        FROM (
          SELECT reservation_id, any(resource_id) AS resource, argMax(status, version) AS status_now,
            assumeNotNull(argMaxIf(start_at, version, ${TERMS})) AS period_start,
            assumeNotNull(argMaxIf(end_at, version, ${TERMS})) AS period_end,
            argMaxIf(quantity, version, ${TERMS}) AS units,
            countIf(${TERMS}) AS terms
          FROM events
          WHERE event_type IN ${LIFECYCLE} AND ${RESOURCE_FILTER}
            AND reservation_id IN (${OVERLAPPING})
          GROUP BY reservation_id
          HAVING terms > 0 AND status_now IN ('Confirmed', 'Completed')
            AND period_start < ${TO_TIME} AND period_end > ${FROM_TIME}
        ) AS r
        ARRAY JOIN arrayFilter(d -> d >= {from:Date} AND d < {to:Date},
          arrayMap(i -> toDate(r.period_start) + i,
            range(toUInt32(dateDiff('day', toDate(r.period_start), toDate(r.period_end - toIntervalMillisecond(1))) + 1)))) AS day
      ) AS b
      LEFT JOIN ${RESOURCE_NAMES} AS n ON n.resource_id = b.resource_id
      GROUP BY day, b.resource_id
      ORDER BY day, resource_id`,
  }),

  bookingsPerHour: define<{ from: string; to: string; resourceId: string }, BookingsPerHourRow>({
    title: 'Bookings per hour',
    description:
      'Per hour of decision: reservations held (accepted requests and their units) and payments confirmed.',
    params: rangeAndResource,
    maxDays: 31,
    sql: () => `
      SELECT formatDateTime(toStartOfHour(decided_at), '%Y-%m-%dT%H:00:00Z') AS hour,
        countIf(event_type = 'ReservationHeld') AS held,
        countIf(event_type = 'ReservationConfirmed') AS confirmed,
        sumIf(quantity, event_type = 'ReservationHeld') AS units_held
      FROM events FINAL
      WHERE event_type IN ('ReservationHeld', 'ReservationConfirmed') AND ${IN_RANGE} AND ${RESOURCE_FILTER}
      GROUP BY hour
      ORDER BY hour`,
  }),

  cancellationAndExpiryRates: define<{ from: string; to: string; resourceId: string }, RatesRow>({
    title: 'Cancellation and expiry rates',
    description:
      'Of the reservations held in the range (by decision time of the hold), per resource: how many are ' +
      'now Cancelled (by the customer or after a failed payment) and how many Expired, and their shares.',
    params: rangeAndResource,
    maxDays: 366,
    sql: () => `
      SELECT resource AS resource_id, count() AS held, countIf(status_now = 'Cancelled') AS cancelled,
        countIf(status_now = 'Expired') AS expired,
        round(cancelled / held, 6) AS cancellation_rate, round(expired / held, 6) AS expiry_rate
      FROM (
        SELECT reservation_id, any(resource_id) AS resource, argMax(status, version) AS status_now,
          minIf(decided_at, event_type = 'ReservationHeld') AS held_at,
          countIf(event_type = 'ReservationHeld') AS holds
        FROM events
        WHERE event_type IN ${LIFECYCLE} AND ${RESOURCE_FILTER}
          AND reservation_id IN (${HELD_IN_RANGE})
        GROUP BY reservation_id
        HAVING holds > 0 AND held_at >= ${FROM_TIME} AND held_at < ${TO_TIME}
      )
      GROUP BY resource
      ORDER BY resource_id`,
  }),

  revenue: define<{ from: string; to: string; resourceId: string }, RevenueRow>({
    title: 'Revenue per resource and currency',
    description:
      'Amount paid (minor units) for reservations confirmed in the range that are still Confirmed or ' +
      'Completed (a cancellation after payment takes the revenue out), per resource and currency.',
    params: rangeAndResource,
    maxDays: 366,
    sql: () => `
      SELECT resource AS resource_id, paid_currency AS currency, count() AS reservations,
        sum(paid) AS revenue_minor
      FROM (
        SELECT reservation_id, any(resource_id) AS resource, argMax(status, version) AS status_now,
          argMaxIf(amount_minor, version, event_type = 'ReservationConfirmed') AS paid,
          argMaxIf(currency, version, event_type = 'ReservationConfirmed') AS paid_currency,
          maxIf(decided_at, event_type = 'ReservationConfirmed') AS confirmed_at
        FROM events
        WHERE event_type IN ${LIFECYCLE} AND ${RESOURCE_FILTER}
          AND reservation_id IN (${CONFIRMED_IN_RANGE})
        GROUP BY reservation_id
        HAVING status_now IN ('Confirmed', 'Completed') AND confirmed_at >= ${FROM_TIME} AND confirmed_at < ${TO_TIME}
      )
      GROUP BY resource, paid_currency
      ORDER BY resource_id, currency`,
  }),

  topResources: define<{ from: string; to: string; limit: number; by: 'bookings' | 'units' }, TopResourceRow>(
    {
      title: 'Top resources',
      description: 'Resources with the most reservations held in the range, by number of bookings or units.',
      params: {
        ...range,
        limit: intParam(1, 1000, 10),
        by: enumParam(['bookings', 'units'] as const, 'bookings'),
      },
      maxDays: 366,
      // `by` picks one of two fixed texts; it is never spliced.
      sql: ({ by }) => `
      SELECT h.resource_id AS resource_id, any(n.resource_name) AS resource_name,
        count() AS bookings, sum(h.quantity) AS units
      FROM (
        SELECT resource_id, quantity FROM events FINAL
        WHERE event_type = 'ReservationHeld' AND ${IN_RANGE}
      ) AS h
      LEFT JOIN ${RESOURCE_NAMES} AS n ON n.resource_id = h.resource_id
      GROUP BY h.resource_id
      ORDER BY ${by === 'units' ? 'units DESC, bookings DESC' : 'bookings DESC, units DESC'}, resource_id
      LIMIT {limit:UInt32}`,
    },
  ),

  rejectionReasons: define<{ from: string; to: string; resourceId: string }, RejectionReasonRow>({
    title: 'Rejection reasons',
    description: 'Refused commands decided in the range, by machine-readable reason and command type.',
    params: rangeAndResource,
    maxDays: 366,
    sql: () => `
      SELECT reason, command_type, count() AS rejections
      FROM events FINAL
      WHERE event_type IN ('ReservationRejected', 'ResourceChangeRejected') AND ${IN_RANGE} AND ${RESOURCE_FILTER}
      GROUP BY reason, command_type
      ORDER BY rejections DESC, reason, command_type`,
  }),
} as const;

export type ReportName = keyof typeof reports;
type Definition<N extends ReportName> = (typeof reports)[N];
/** The typed parameters of a report, after validation. */
export type ReportParams<N extends ReportName> = Parameters<Definition<N>['sql']>[0];
/** One row of a report's result. */
export type ReportRow<N extends ReportName> = NonNullable<Definition<N>['row']>;

export function isReportName(name: string): name is ReportName {
  return Object.hasOwn(reports, name);
}

/** Validates raw input (e.g. a query string) into a report's typed parameters; throws InvalidReportParameterError. */
export function parseReportParams<N extends ReportName>(
  name: N,
  raw: Readonly<Record<string, unknown>>,
): ReportParams<N> {
  const definition = reports[name] as unknown as ReportDefinition<Record<string, unknown>, unknown>;
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(definition.params, key)) {
      throw new InvalidReportParameterError(key, `one of ${Object.keys(definition.params).join(', ')}`, key);
    }
  }
  const parsed: Record<string, unknown> = {};
  for (const [key, type] of Object.entries(definition.params)) parsed[key] = type.parse(key, raw[key]);
  if (typeof parsed.from === 'string' && typeof parsed.to === 'string') {
    checkRange(parsed.from, parsed.to, definition.maxDays);
  }
  return parsed as ReportParams<N>;
}

/** The SQL text and bound parameters of a report, after validation (for logging, EXPLAIN and tests). */
export function prepareReport<N extends ReportName>(name: N, raw: Readonly<Record<string, unknown>>) {
  const params = parseReportParams(name, raw);
  const definition = reports[name] as unknown as ReportDefinition<Record<string, unknown>, unknown>;
  return { query: definition.sql(params), params };
}

/** Runs a report against the database the client points at. */
export async function runReport<N extends ReportName>(
  client: ClickHouseClient,
  name: N,
  raw: Readonly<Record<string, unknown>>,
): Promise<ReportRow<N>[]> {
  const { query, params } = prepareReport(name, raw);
  const result = await client.query({
    query,
    query_params: params,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0, readonly: '1' },
  });
  return result.json<ReportRow<N>>();
}
