/**
 * `npm run chaos -- [--minutes N] [--rate N] [--keep]`: the chaos suite's run, longer, for people. Needs the
 * local stack (`npm start` or `bash ops/stack.sh up`); brings a Kafka broker, databases and workers of its
 * own and removes them afterwards (`--keep` keeps the databases and the broker's data). Prints the report;
 * exits 0 when every check passed, 1 on any violation, 2 when the harness could not run, 130 on Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { cliOptions } from './options.ts';
import { formatReport, passed } from './report.ts';
import { runChaos } from './run.ts';

const USAGE = `usage: npm run chaos -- [--minutes N] [--rate OPERATIONS_PER_SECOND] [--keep]
  --minutes  minutes of load, faults in cycles of eight (default 10)
  --rate     operations per second, HTTP and library together (default 120)
  --keep     keep the run's databases and the private broker's data`;

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name}: expected a positive number, got '${raw}'\n${USAGE}`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<number> {
  let values: { minutes?: string; rate?: string; keep?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        minutes: { type: 'string' },
        rate: { type: 'string' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const minutes = positive('minutes', values.minutes, 10);
  const rate = positive('rate', values.rate, 120);
  const controller = new AbortController();
  let interrupts = 0;
  const interrupt = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130); // the run's exit handler kills its processes
    console.error('\ninterrupted: tearing down (press Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  try {
    const report = await runChaos(
      cliOptions(minutes, { rate, keep: values.keep ?? false }),
      controller.signal,
    );
    console.log(formatReport(report));
    return passed(report) ? 0 : 1;
  } catch (error) {
    if (controller.signal.aborted) return 130;
    console.error(`chaos run failed: ${(error as Error).stack ?? error}`);
    return 2;
  }
}

process.exit(await main());
