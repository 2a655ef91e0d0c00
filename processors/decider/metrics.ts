/** Prometheus metrics of the decider. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function deciderMetrics(registry: Registry) {
  return {
    decisions: new Counter({
      name: 'slotstream_decider_commands_decided_total',
      help: 'Commands decided (committed), by partition',
      labelNames: ['partition'],
      registers: [registry],
    }),
    events: new Counter({
      name: 'slotstream_decider_events_total',
      help: 'Events committed, by type',
      labelNames: ['type'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'slotstream_decider_dead_letters_total',
      help: 'Commands sent to the dead-letter topic, by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    transactionFailures: new Counter({
      name: 'slotstream_decider_transaction_failures_total',
      help: 'Transactions that failed or ended with an unknown outcome (the producer is then replaced)',
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'slotstream_decider_batch_size',
      help: 'Commands per transaction',
      buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'slotstream_decider_batch_seconds',
      help: 'Time from batch start to transaction commit',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    restoreSeconds: new Histogram({
      name: 'slotstream_decider_restore_seconds',
      help: 'Time to restore owned partitions from the changelog',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    restoredResources: new Gauge({
      name: 'slotstream_decider_restored_resources',
      help: 'Resources loaded by the last restore, by partition',
      labelNames: ['partition'],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'slotstream_decider_consumer_lag',
      help: 'Commands not yet decided, by partition (high watermark minus next offset)',
      labelNames: ['partition'],
      registers: [registry],
    }),
    state: new Gauge({
      name: 'slotstream_decider_state',
      help: 'Lifecycle state of the decider (1 for the current one)',
      labelNames: ['state'],
      registers: [registry],
    }),
  };
}

export type DeciderMetrics = ReturnType<typeof deciderMetrics>;
