/**
 * One chaos run from start to finish: build the run's world (./environment.ts), offer the load
 * (./load.ts) while the faults are injected (./faults.ts), re-send what had an unknown outcome, wait for
 * the system to catch up (./drain.ts), gather the evidence and check it (./checker.ts), tear everything
 * down. The suite (test/integration/integrity/chaos.test.ts) and `npm run chaos` (./cli.ts) both run this.
 */
import { SINK_NAMES } from '../../common/topics.ts';
import { checkPayments, type PaymentCheck } from '../../sinks/payment/check.ts';
import { type CheckResult, check, gatherEvidence } from './checker.ts';
import { drain } from './drain.ts';
import { ChaosEnvironment } from './environment.ts';
import { FaultRunner } from './faults.ts';
import { LoadGenerator } from './load.ts';
import { MailCollector } from './mail-collector.ts';
import type { ChaosOptions } from './options.ts';
import { type ChaosReport, saveReport } from './report.ts';
import { sleep } from './sleep.ts';

/** After the last fault the load goes on this long, so recovery is seen under load. */
const LOAD_AFTER_LAST_FAULT_MS = 10_000;

/**
 * Runs the whole thing; resolves with the report (violations are in it, not thrown). Throws only when the
 * harness itself could not do its job (the stack is missing, a worker never became healthy at start…).
 * `signal` aborts the run early (Ctrl-C): everything started is still torn down.
 */
/** `npm run payments:check` on the run's ledger and events topic, as one more check: every list empty. */
function paymentCheck(result: PaymentCheck): CheckResult {
  const lists = { undecided: result.undecided, unrecorded: result.unrecorded, unrefunded: result.unrefunded };
  return {
    id: '4p',
    title: 'payments:check: no recorded result without a decision (ledger vs events topic)',
    checked: result.succeeded,
    violations: [
      ...Object.entries(lists).flatMap(([name, charges]) =>
        charges.map(
          (c) => `${name}: charge ${c.key} (reservation ${c.reservationId}, result ${c.resultCommandId})`,
        ),
      ),
      ...result.refundedConfirmed.map((c) => `refunded although it confirmed: charge ${c.key}`),
    ],
    notes: [
      `succeeded ${result.succeeded}, recorded ${result.recorded}, decided ${result.decided}, refunded ${result.refunded}`,
    ],
  };
}

export async function runChaos(options: ChaosOptions, signal?: AbortSignal): Promise<ChaosReport> {
  const log = options.log;
  const env = new ChaosEnvironment(options);
  const started = Date.now();
  let load: LoadGenerator | undefined;
  let mail: MailCollector | undefined;
  const aborted = () => {
    if (signal?.aborted) throw new Error('aborted');
  };
  try {
    log(`chaos ${env.runId}: setting up`);
    await env.setup();
    aborted();
    const setupMs = Date.now() - started;
    mail = new MailCollector(env.stack.mailpit.url, env.mailDomain);
    await mail.start();
    load = new LoadGenerator(env, options);
    await load.connect();

    log(
      `chaos ${env.runId}: load at ${options.rate}/s for ${options.loadMs / 1000} s, ${options.faults.length} faults`,
    );
    const loadStarted = Date.now();
    load.start();
    const faults = new FaultRunner(env, options);
    const running = load;
    await faults.run(options.faults, () => running.elapsedMs, signal);
    aborted();
    const until = Math.max(options.loadMs, load.elapsedMs + LOAD_AFTER_LAST_FAULT_MS);
    await sleep(until - load.elapsedMs, signal);
    load.stop();
    aborted();
    const loadMs = Date.now() - loadStarted;

    log(
      `chaos ${env.runId}: load stopped after ${(loadMs / 1000).toFixed(1)} s; re-sending unknown outcomes`,
    );
    const settleStarted = Date.now();
    const unknown = await load.settle(options.retryWindowMs, signal);
    const settleMs = Date.now() - settleStarted;
    log(
      `  ${unknown} operations still unknown after ${(settleMs / 1000).toFixed(1)} s; waiting for the system to catch up`,
    );
    aborted();
    // Holds taken until now expire (or are confirmed) within the short hold timeout; wait past that.
    const drained = await drain(
      env,
      Date.now() + options.shortHoldMs + 3_000,
      options.drainTimeoutMs,
      signal,
    );
    log(`  ${drained.drained ? 'caught up' : 'NOT caught up'} in ${(drained.ms / 1000).toFixed(1)} s`);
    aborted();

    const checkStarted = Date.now();
    const collector = mail;
    const evidence = await gatherEvidence(
      env,
      load.operations,
      async () => {
        await collector.finish();
        return [...collector.mails.values()];
      },
      faults.records.filter((f) => f.kind === 'kill sink-notification').map((f) => f.at),
    );
    const checks: CheckResult[] = [
      {
        id: 'F',
        title: 'every fault injected and every worker healthy again',
        checked: faults.records.length,
        violations: [
          ...faults.records.filter((f) => f.error).map((f) => `${f.kind}: ${f.error}`),
          ...(faults.records.length < options.faults.length
            ? [`only ${faults.records.length} of ${options.faults.length} faults ran`]
            : []),
        ],
        notes: [],
      },
      {
        id: 'D',
        title: 'the system caught up after the load (every consumer group at lag 0)',
        checked: Object.keys(drained.lags).length,
        violations: drained.drained
          ? []
          : [`not caught up after ${drained.ms} ms: ${JSON.stringify(drained.lags)}`],
        notes: [],
      },
      ...check(evidence),
      paymentCheck(
        await checkPayments({ config: env.config, logger: env.logger, graceMs: 0 }).catch(
          (error: unknown) => {
            throw new Error(`npm run payments:check could not run: ${(error as Error).message}`);
          },
        ),
      ),
    ];
    const deadLetters = await deadLetterCounts(env);
    const checkMs = Date.now() - checkStarted;
    const report: ChaosReport = {
      runId: env.runId,
      logDir: env.logDir,
      options: {
        rate: options.rate,
        loadMs: options.loadMs,
        resources: options.resources,
        capacity: options.capacity,
        partitions: options.partitions,
        httpShare: options.httpShare,
      },
      timings: {
        setup: setupMs,
        load: loadMs,
        settle: settleMs,
        drain: drained.ms,
        check: checkMs,
        total: Date.now() - started,
      },
      load: load.stats,
      operations: load.operations,
      faults: faults.records,
      unplannedExits: [...env.workers.values()].flatMap((w) => w.unplannedExits),
      drain: drained,
      deadLetters,
      mailDeletedMeanwhile: mail.deletedMeanwhile,
      checks,
    };
    await saveReport(report).catch((error: unknown) =>
      log(`  saving the report failed: ${(error as Error).message}`),
    );
    return report;
  } finally {
    log(`chaos ${env.runId}: tearing down`);
    mail?.stop();
    await load?.close();
    await env.destroy();
  }
}

async function deadLetterCounts(env: ChaosEnvironment): Promise<Record<string, number>> {
  const topics = [env.topics.commandsDlq, ...SINK_NAMES.map((s) => env.topics.sinkDlq[s])];
  const admin = env.kafka.admin();
  await admin.connect();
  try {
    const counts: Record<string, number> = {};
    for (const topic of topics) {
      const offsets = await admin.fetchTopicOffsets(topic);
      counts[topic.slice(env.prefix.length)] = offsets.reduce(
        (sum, p) => sum + Number(p.high) - Number(p.low),
        0,
      );
    }
    return counts;
  } finally {
    await admin.disconnect();
  }
}
