/** Prometheus metrics of one API instance, in a registry of its own (several apps can share a process). */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface ApiMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status_code'>;
  readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly commandsProduced: Counter<'type'>;
  readonly produceErrors: Counter<'code'>;
  readonly produceBatchSize: Histogram;
  readonly produceBatchDuration: Histogram;
  readonly waiting: Gauge;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): ApiMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: 'slotstream_api_' });
  return {
    registry,
    requests: new Counter({
      name: 'slotstream_api_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'slotstream_api_http_request_duration_seconds',
      help: 'Time from receiving a request to sending its answer',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    commandsProduced: new Counter({
      name: 'slotstream_api_commands_produced_total',
      help: 'Commands acknowledged by Kafka (acks=all), by command type',
      labelNames: ['type'],
      registers: [registry],
    }),
    produceErrors: new Counter({
      name: 'slotstream_api_produce_errors_total',
      help: 'Commands that could not be written to Kafka, by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    produceBatchSize: new Histogram({
      name: 'slotstream_api_produce_batch_messages',
      help: 'Commands per produce request',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [registry],
    }),
    produceBatchDuration: new Histogram({
      name: 'slotstream_api_produce_batch_duration_seconds',
      help: 'Time for the broker to acknowledge a produce request (acks=all)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
    waiting: new Gauge({
      name: 'slotstream_api_waiting_requests',
      help: 'Requests waiting for a decision (Prefer: wait or ?wait)',
      registers: [registry],
    }),
  };
}
