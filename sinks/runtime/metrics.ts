/**
 * A sink's metrics in Prometheus form, on a registry of its own (so tests can run several sinks in one
 * process): events applied and dead-lettered, their rate over the last ten seconds, retries, batch sizes and
 * durations, paused partitions, the lifecycle state, and the consumer lag per partition (committed offset of
 * the group against the partition's end, read from the broker at scrape time).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SINK_STATES, type SinkState } from './types.ts';

const RATE_WINDOW_MS = 10_000;

export class SinkMetrics {
  readonly registry = new Registry();
  readonly events: Counter<'outcome'>;
  readonly retries: Counter<'code'>;
  readonly deadLetters: Counter<'code'>;
  readonly batchEvents: Histogram;
  readonly flushSeconds: Histogram;
  readonly pausedPartitions: Gauge;
  readonly consumerRestarts: Counter;
  private readonly state: Gauge<'state'>;
  private readonly recent: { at: number; count: number }[] = [];

  constructor(
    sink: string,
    lag: () => Promise<ReadonlyMap<number, number>>,
    topic: string,
    actions?: Readonly<Record<string, number>>,
  ) {
    this.registry.setDefaultLabels({ sink });
    const registers = [this.registry];
    if (actions) {
      new Counter({
        name: 'slotstream_sink_actions_total',
        help: 'What the sink did, by action (its own counts, e.g. charges, declines, refunds, mails sent)',
        labelNames: ['action'],
        registers,
        collect() {
          this.reset();
          for (const [action, count] of Object.entries(actions)) this.inc({ action }, count);
        },
      });
    }
    this.events = new Counter({
      name: 'slotstream_sink_events_total',
      help: 'Events handled, by outcome (applied to the target, or dead_lettered)',
      labelNames: ['outcome'],
      registers,
    });
    const recent = this.recent;
    new Gauge({
      name: 'slotstream_sink_events_per_second',
      help: `Events applied per second over the last ${RATE_WINDOW_MS / 1000} s`,
      registers,
      collect() {
        const since = Date.now() - RATE_WINDOW_MS;
        const count = recent.filter((r) => r.at >= since).reduce((sum, r) => sum + r.count, 0);
        this.set(count / (RATE_WINDOW_MS / 1000));
      },
    });
    this.retries = new Counter({
      name: 'slotstream_sink_retries_total',
      help: 'Batches put back for a retry after a retryable error, by error code',
      labelNames: ['code'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'slotstream_sink_dead_letters_total',
      help: 'Records written to the dead-letter topic, by error code',
      labelNames: ['code'],
      registers,
    });
    this.batchEvents = new Histogram({
      name: 'slotstream_sink_batch_events',
      help: 'Events per flush to the target',
      buckets: [1, 10, 100, 1_000, 5_000, 10_000, 50_000],
      registers,
    });
    this.flushSeconds = new Histogram({
      name: 'slotstream_sink_flush_seconds',
      help: 'Time to apply one flush to the target, including isolation of refused records',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.pausedPartitions = new Gauge({
      name: 'slotstream_sink_paused_partitions',
      help: 'Partitions paused while a batch waits for its retry',
      registers,
    });
    this.consumerRestarts = new Counter({
      name: 'slotstream_sink_consumer_restarts_total',
      help: 'Times the worker connected to Kafka again after a consumer crash kafkajs did not recover from',
      registers,
    });
    this.state = new Gauge({
      name: 'slotstream_sink_state',
      help: 'Lifecycle state: 1 for the current one',
      labelNames: ['state'],
      registers,
    });
    new Gauge({
      name: 'slotstream_sink_consumer_lag',
      help: 'Records of the events topic not yet committed by the sink, per partition',
      labelNames: ['topic', 'partition'],
      registers,
      async collect() {
        this.reset();
        try {
          for (const [partition, value] of await lag())
            this.set({ topic, partition: String(partition) }, value);
        } catch {
          // the broker is unreachable: no lag figures rather than a failed scrape
        }
      },
    });
    this.setState('starting');
  }

  setState(state: SinkState): void {
    for (const s of SINK_STATES) this.state.set({ state: s }, s === state ? 1 : 0);
  }

  applied(count: number): void {
    this.events.inc({ outcome: 'applied' }, count);
    const now = Date.now();
    this.recent.push({ at: now, count });
    while (this.recent.length > 0 && (this.recent[0]?.at ?? now) < now - RATE_WINDOW_MS) this.recent.shift();
  }

  deadLettered(code: string, count = 1): void {
    this.events.inc({ outcome: 'dead_lettered' }, count);
    this.deadLetters.inc({ code }, count);
  }
}
