/**
 * The PostgreSQL read-model sink: each batch becomes one row per key and table (./projection.ts) and is
 * written in one statement — one round trip — whose data-modifying CTEs upsert resources, customers and
 * reservations and insert decisions, each row moving only forward (./tables.ts).
 *
 * A status event (confirmed, cancelled…) of a reservation whose ReservationHeld was never applied — it was
 * dead-lettered, or comes later in a replay — still writes its row, so the row converges once the hold
 * arrives (e.g. through dlq:replay). Such a row has no terms (`details_version IS NULL`: no period, no
 * quantity): it is *incomplete*, the API does not serve it (api/services/read-model.ts), and the sink warns
 * and counts it (`incompleteReservations`), since availability cannot count what it does not know.
 */
import type { Logger } from 'pino';
import type { Sink, SinkEvent } from '../runtime/types.ts';
import { SinkPool } from './pool.ts';
import { project } from './projection.ts';
import { customers, insertDecisionsSql, reservations, resources, upsertSql } from './tables.ts';

export interface PostgresSinkOptions {
  /** Connection string of the read-model database. */
  readonly url: string;
  readonly logger: Logger;
  /** @default 'postgres' */
  readonly name?: string;
  /** Connections in the pool; the runtime applies one batch at a time, so two is plenty. @default 2 */
  readonly poolSize?: number;
  /** Give up connecting after this long (the runtime retries). @default 3_000 */
  readonly connectTimeoutMs?: number;
  /** Server-side limit of one batch statement. @default 20_000 */
  readonly statementTimeoutMs?: number;
}

/** One statement, one round trip, four tables; also the reservations it left incomplete (no terms). */
export const BATCH_SQL = `WITH
  r AS (${upsertSql(resources, 1)} RETURNING 1),
  c AS (${upsertSql(customers, 2)} RETURNING 1),
  v AS (${upsertSql(reservations, 3)} RETURNING id, details_version IS NULL AS incomplete),
  d AS (${insertDecisionsSql(4)} RETURNING 1)
SELECT (SELECT count(*) FROM r)::int AS resources, (SELECT count(*) FROM c)::int AS customers,
       (SELECT count(*) FROM v)::int AS reservations, (SELECT count(*) FROM d)::int AS decisions,
       (SELECT coalesce(array_agg(id::text ORDER BY id), '{}') FROM v WHERE incomplete) AS incomplete`;

/** At most this many ids are named in one warning about incomplete reservations. */
const IDS_IN_WARNING = 20;

export interface BatchResult {
  /** Rows inserted or moved forward per table (stale and repeated events count 0). */
  readonly resources: number;
  readonly customers: number;
  readonly reservations: number;
  readonly decisions: number;
}

/** What the postgres sink counts (exported as slotstream_sink_actions_total{action}). */
export type PostgresSinkStats = {
  /** Reservation rows written without terms: a status event applied before (or without) its hold. */
  incompleteReservations: number;
};

export class PostgresSink implements Sink {
  readonly name: string;
  private readonly db: SinkPool;
  private readonly logger: Logger;
  /** What the last batch changed (for tests and the benchmark). */
  lastResult: BatchResult | undefined;
  readonly stats: PostgresSinkStats = { incompleteReservations: 0 };

  constructor(options: PostgresSinkOptions) {
    this.name = options.name ?? 'postgres';
    this.logger = options.logger.child({ component: 'postgres-sink' });
    this.db = new SinkPool({
      url: options.url,
      sinkName: this.name,
      logger: this.logger,
      poolSize: options.poolSize ?? 2,
      connectTimeoutMs: options.connectTimeoutMs ?? 3_000,
      statementTimeoutMs: options.statementTimeoutMs ?? 20_000,
    });
  }

  async start(): Promise<void> {
    await this.db.requireTables(['resources', 'customers', 'reservations', 'decisions']);
  }

  async handleBatch(events: readonly SinkEvent[]): Promise<void> {
    const rows = project(events.map((e) => e.event));
    const [result] = await this.db.rows<BatchResult & { incomplete: string[] }>(BATCH_SQL, [
      JSON.stringify(rows.resources),
      JSON.stringify(rows.customers),
      JSON.stringify(rows.reservations),
      JSON.stringify(rows.decisions),
    ]);
    if (!result) return;
    const { incomplete, ...counts } = result;
    this.lastResult = counts;
    if (incomplete.length > 0) {
      this.stats.incompleteReservations += incomplete.length;
      this.logger.warn(
        { count: incomplete.length, reservationIds: incomplete.slice(0, IDS_IN_WARNING) },
        'reservations have status events but no ReservationHeld or ReservationReopened applied yet ' +
          '(dead-lettered? see the postgres dead-letter topic and dlq:replay): the API does not show them ' +
          'and availability does not count them until it is applied',
      );
    }
  }

  async close(): Promise<void> {
    await this.db.end();
  }
}
