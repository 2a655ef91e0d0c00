/**
 * The ClickHouse reporting sink: every event becomes a row of the `events` fact table, inserted in large
 * batches. The runtime hands it the events of all partitions fetched together (up to maxBatchEvents per
 * insert), and its defaults ask the broker to hold a fetch until 1 MiB is ready or 250 ms have passed: at
 * high load inserts hold tens of thousands of rows, at low load four inserts a second, never one per
 * row. Redelivered events collapse in the table (ReplacingMergeTree by event id).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import type { SinkRuntimeOptions } from '../runtime/options.ts';
import type { Sink, SinkEvent } from '../runtime/types.ts';
import { createClickHouseClient } from './client.ts';
import { fromClickHouseError } from './errors.ts';
import { EVENT_COLUMNS, eventRow } from './rows.ts';

export const clickHouseRuntimeDefaults = {
  // A flush starts as soon as this many events are ready, while the next partitions are still being decoded.
  maxBatchEvents: 10_000,
  fetchMinBytes: 1024 * 1024,
  fetchMaxWaitMs: 250, // the flush interval at low load: bounds both part count and latency
} satisfies Partial<SinkRuntimeOptions>;

export interface ClickHouseSinkOptions {
  readonly url: string;
  readonly database: string;
  readonly logger: Logger;
  /** @default 'clickhouse' */
  readonly name?: string;
  /** @default 30_000 */
  readonly requestTimeoutMs?: number;
}

export class ClickHouseSink implements Sink {
  readonly name: string;
  readonly runtimeDefaults = clickHouseRuntimeDefaults;
  private readonly client: ClickHouseClient;

  constructor(options: ClickHouseSinkOptions) {
    this.name = options.name ?? 'clickhouse';
    this.client = createClickHouseClient({
      url: options.url,
      database: options.database,
      requestTimeoutMs: options.requestTimeoutMs,
    });
  }

  async start(): Promise<void> {
    try {
      const result = await this.client.query({ query: 'EXISTS TABLE events', format: 'JSONEachRow' });
      const [row] = await result.json<{ result: number }>();
      if (Number(row?.result) !== 1) throw new Error('the events table is missing: run `npm run ch:migrate`');
    } catch (error) {
      throw fromClickHouseError(this.name, error);
    }
  }

  async handleBatch(events: readonly SinkEvent[]): Promise<void> {
    try {
      await this.client.insert({
        table: 'events',
        values: events.map(eventRow),
        format: 'JSONCompactEachRow',
        columns: [...EVENT_COLUMNS],
        // Synchronous insert: when this resolves, the rows are in a part on disk and visible to queries.
        clickhouse_settings: { async_insert: 0 },
      });
    } catch (error) {
      throw fromClickHouseError(this.name, error);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
