/**
 * `npm run load -- --rate 1000 --duration 30s --resources 100 --capacity 10 --hot-share 0.2 [--via http]`
 *
 * Offers RequestReservation commands at a fixed rate for a fixed time, through the producer library or the
 * HTTP API, shows a live progress line, and ends with a summary: offered and achieved rate, accepted,
 * refused and rejected by reason (decisions read from the events topic with read_committed when a decider
 * is running), errors and latency percentiles. Loopback only; bounded in count and time.
 */
import { loadConfig } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { isLoopback, type LoadOptions, parseLoadOptions, USAGE, UsageError } from './options.ts';
import { type LoadSummary, type Progress, runLoad } from './run.ts';

function progressLine(p: Progress): string {
  const seconds = (p.elapsedMs / 1000).toFixed(1);
  const rate = p.elapsedMs > 0 ? Math.round((p.accepted * 1000) / p.elapsedMs) : 0;
  return (
    `[${p.phase.padEnd(8)} ${seconds.padStart(6)}s] offered ${p.offered} accepted ${p.accepted} (~${rate}/s)` +
    ` in flight ${p.inFlight} refused ${p.refused} unknown ${p.unknown} errors ${p.errors} | held ${p.held} rejected ${p.rejected}`
  );
}

function table(record: Record<string, number>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? '    none\n' : entries.map(([k, n]) => `    ${k.padEnd(28)} ${n}\n`).join('');
}

function render(summary: LoadSummary, options: LoadOptions): string {
  const l = summary.latencyMs;
  const d = summary.decisions;
  const fmt = (s: typeof l) =>
    s ? `p50 ${s.p50} ms  p90 ${s.p90} ms  p99 ${s.p99} ms  p99.9 ${s.p999} ms  max ${s.max} ms` : 'n/a';
  return (
    `\nload run ${summary.runId} via ${summary.via}: ${options.resources} resources × capacity ${options.capacity}, ` +
    `hot share ${options.hotShare}, quantity ${options.quantity}\n` +
    `  offered    ${summary.offered.requests} requests at ${summary.offered.perSecond.toFixed(0)}/s ` +
    `(asked ${options.rate}/s over ${(summary.offeringMs / 1000).toFixed(1)} s)` +
    `${summary.notSent ? `, ${summary.notSent} not sent (client in-flight cap)` : ''}\n` +
    `  accepted   ${summary.accepted.requests} at ${summary.accepted.perSecond.toFixed(0)}/s ` +
    `(${summary.via === 'kafka' ? 'acknowledged by Kafka, acks=all' : 'answered 2xx by the API'})\n` +
    `  refused\n${table(summary.refused)}` +
    `  outcome unknown (may be on the topic)\n${table(summary.unknown)}` +
    `  errors\n${table(summary.errors)}` +
    `  latency    ${fmt(l)}\n` +
    (d.observed
      ? `  decisions  held ${d.held}, rejected ${Object.values(d.rejected).reduce((a, b) => a + b, 0)}, undecided ${d.undecided}\n` +
        `  rejected by reason\n${table(d.rejected)}` +
        `  decision latency ${fmt(d.latencyMs)}\n`
      : '  decisions  none observed on the events topic (is the processor running? npm run processor)\n')
  );
}

async function main(): Promise<number> {
  let options: LoadOptions;
  try {
    options = parseLoadOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message ? `${error.message}\n` : ''}${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  const config = loadConfig();
  const remote = config.kafka.brokers.filter((b) => !isLoopback(b.replace(/:\d+$/, '')));
  if (remote.length > 0) {
    process.stderr.write(
      `the load generator only targets loopback; KAFKA_BROKERS names ${remote.join(', ')}\n`,
    );
    return 2;
  }
  const logger = createLogger({ logLevel: process.env.LOG_LEVEL ? config.logLevel : 'warn' }, 'load');
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const tty = process.stderr.isTTY;
  let lastPrinted = 0;
  const summary = await runLoad(options, {
    config,
    logger,
    signal: controller.signal,
    onProgress: (p) => {
      if (tty) process.stderr.write(`\r\x1b[2K${progressLine(p)}`);
      else if (p.elapsedMs - lastPrinted >= 5_000) {
        lastPrinted = p.elapsedMs;
        process.stderr.write(`${progressLine(p)}\n`);
      }
    },
  });
  if (tty) process.stderr.write('\n');
  process.stdout.write(render(summary, options));
  if (options.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`load failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
