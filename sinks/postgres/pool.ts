/**
 * PostgreSQL access shared by the sinks: one pool with timeouts sized for sink batches, and queries whose
 * errors are converted once, where they enter, into retryable or final sink errors (fromPgError).
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { fromPgError } from './errors.ts';

export interface SinkPoolOptions {
  readonly url: string;
  /** The sink's name: in error messages and the connection's application_name. */
  readonly sinkName: string;
  readonly logger: Logger;
  /** @default 4 */
  readonly poolSize?: number;
  /** @default 3_000 */
  readonly connectTimeoutMs?: number;
  /** @default 10_000 */
  readonly statementTimeoutMs?: number;
}

export class SinkPool {
  readonly pool: pg.Pool;
  private readonly sinkName: string;

  constructor(options: SinkPoolOptions) {
    this.sinkName = options.sinkName;
    const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3_000,
      statement_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs + 5_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: `slotstream-sink-${options.sinkName}`,
    });
    // An idle connection that dies (server restart) is reported here; the next query takes a new one.
    this.pool.on('error', (error) => options.logger.warn({ err: error }, 'idle PostgreSQL connection lost'));
  }

  /** Runs one statement; a failure comes back as a sink error with its retryable flag. */
  async rows<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      return (await this.pool.query<T>(sql, params)).rows;
    } catch (error) {
      throw fromPgError(this.sinkName, error);
    }
  }

  /** Fails start-up with a clear message when the migrations have not created `tables`. */
  async requireTables(tables: readonly string[]): Promise<void> {
    const checks = tables.map((_, i) => `to_regclass($${i + 1}) IS NOT NULL`).join(' AND ');
    const [row] = await this.rows<{ ok: boolean }>(`SELECT ${checks} AS ok`, [...tables]);
    if (!row?.ok) throw new Error(`tables ${tables.join(', ')} are missing: run \`npm run db:migrate\``);
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
