/**
 * The sinks this build can run, by name: how to build each from the configuration, and the runtime
 * defaults each brings. `sinks/run.ts <name>` and `dlq:replay --sink <name>` look them up here.
 */
import type { Logger } from 'pino';
import type { Config } from '../common/config.ts';
import { ClickHouseSink } from './clickhouse/sink.ts';
import { createNotificationSink } from './notification/sink.ts';
import { createPaymentSink } from './payment/sink.ts';
import { PostgresSink } from './postgres/sink.ts';
import type { SinkRuntimeOptions } from './runtime/options.ts';
import type { Sink } from './runtime/types.ts';

export interface SinkEntry {
  /** Builds the sink for the configuration. */
  create(config: Config, logger: Logger): Sink;
  /** Process-level runtime settings for run.ts; settings of the sink itself are its `runtimeDefaults`. */
  readonly defaults?: Partial<SinkRuntimeOptions>;
}

export const sinkCatalog = {
  postgres: {
    create: (config, logger) => new PostgresSink({ url: config.postgres.url, logger }),
  },
  clickhouse: {
    create: (config, logger) =>
      new ClickHouseSink({ url: config.clickhouse.url, database: config.clickhouse.database, logger }),
  },
  payment: {
    create: (config, logger) => createPaymentSink(config, logger),
  },
  notification: {
    create: (config, logger) => createNotificationSink(config, logger),
  },
} as const satisfies Record<string, SinkEntry>;

export type CatalogSinkName = keyof typeof sinkCatalog;

export function isCatalogSink(name: string): name is CatalogSinkName {
  return Object.hasOwn(sinkCatalog, name);
}

/** The entry for a name; throws naming the sinks that exist. */
export function sinkEntry(name: string): SinkEntry {
  if (!isCatalogSink(name)) {
    throw new Error(`unknown sink '${name}': expected one of ${Object.keys(sinkCatalog).join(', ')}`);
  }
  return sinkCatalog[name];
}
