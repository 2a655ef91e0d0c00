/** The shared sink runtime: what a sink implements and what runs it. */

export { type MetricsServer, startMetricsServer } from '../../common/metrics-server.ts';
export { type ApplyOutcome, applyIsolating, type Refusal } from './apply.ts';
export { type BackoffOptions, backoffMs } from './backoff.ts';
export { BatchCoalescer, type FlushStats } from './coalescer.ts';
export { type DeadLetter, DeadLetterPublisher, DLQ_SINK_HEADER } from './dead-letter.ts';
export {
  DeadLetterError,
  describe as describeError,
  type ErrorDescription,
  RetriesExhaustedError,
  SinkRejectedError,
  SinkUnavailableError,
} from './errors.ts';
export { SinkMetrics } from './metrics.ts';
export {
  compileOptions,
  DEFAULT_METRICS_PORTS,
  defaults,
  optionsFromEnv,
  type SinkRuntimeOptions,
} from './options.ts';
export type { KafkaCoordinates, RawRecord, Sink, SinkEvent, SinkState } from './types.ts';
export { SINK_STATES } from './types.ts';
export { SinkWorker, type SinkWorkerParams, startSinkWorker } from './worker.ts';
