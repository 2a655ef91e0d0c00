/**
 * The PostgreSQL read-model sink: each batch becomes one row per key and table (./projection.ts) and is
 * written in one statement — one round trip — whose data-modifying CTEs upsert resources, customers and
 * reservations and insert decisions, each row moving only forward (./tables.ts).
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

/** One statement, one round trip, four tables. */
export const BATCH_SQL = `WITH
  r AS (${upsertSql(resources, 1)} RETURNING 1),
  c AS (${upsertSql(customers, 2)} RETURNING 1),
  v AS (${upsertSql(reservations, 3)} RETURNING 1),
  d AS (${insertDecisionsSql(4)} RETURNING 1)
SELECT (SELECT count(*) FROM r)::int AS resources, (SELECT count(*) FROM c)::int AS customers,
       (SELECT count(*) FROM v)::int AS reservations, (SELECT count(*) FROM d)::int AS decisions`;

export interface BatchResult {
  /** Rows inserted or moved forward per table (stale and repeated events count 0). */
  readonly resources: number;
  readonly customers: number;
  readonly reservations: number;
  readonly decisions: number;
}

export class PostgresSink implements Sink {
  readonly name: string;
  private readonly db: SinkPool;
  private readonly logger: Logger;
  /** What the last batch changed (for tests and the benchmark). */
  lastResult: BatchResult | undefined;

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
    const [result] = await this.db.rows<BatchResult>(BATCH_SQL, [
      JSON.stringify(rows.resources),
      JSON.stringify(rows.customers),
      JSON.stringify(rows.reservations),
      JSON.stringify(rows.decisions),
    ]);
    this.lastResult = result;
  }

  async close(): Promise<void> {
    await this.db.end();
  }
}
