/**
 * `npm run payments:check [-- --grace-seconds 60] [--json]`: the payment ledger against the events topic
 * (./check.ts). Prints the counts and every charge found wanting; exit code 1 if any, 2 when the check
 * could not run (bad arguments, the ledger or Kafka unreachable).
 * Reads DATABASE_URL, KAFKA_BROKERS, REGISTRY_URL and TOPIC_PREFIX like every process.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { type CheckedCharge, checkPayments, type PaymentCheck } from './check.ts';

export { checkPayments, type PaymentCheck } from './check.ts';

const SHOWN = 20;

function list(title: string, charges: readonly CheckedCharge[]): string[] {
  if (charges.length === 0) return [];
  const lines = [`${title}:`];
  for (const c of charges.slice(0, SHOWN)) {
    lines.push(
      `  ${c.key}  resource ${c.resourceId}  ${c.amountMinor} minor  ${c.reference ?? '-'}  ` +
        `command ${c.resultCommandId ?? '-'}  sent ${Math.round(c.sinceSentMs / 1000)} s ago  ` +
        `re-sent ${c.resends}×  decisions [${c.decisions.join(', ')}]`,
    );
  }
  if (charges.length > SHOWN) lines.push(`  … and ${charges.length - SHOWN} more`);
  return lines;
}

/** The report as text. */
export function formatCheck(check: PaymentCheck, graceSeconds: number): string {
  return [
    `succeeded charges: ${check.succeeded}`,
    `results recorded:  ${check.recorded}`,
    `results decided:   ${check.decided}`,
    `refunded:          ${check.refunded}`,
    `recorded but undecided for more than ${graceSeconds} s: ${check.undecided.length}`,
    `never recorded nor decided for more than ${graceSeconds} s: ${check.unrecorded.length}`,
    `refused but not refunded: ${check.unrefunded.length}`,
    `refunded although they confirmed the reservation: ${check.refundedConfirmed.length}`,
    `(events read: ${check.eventsRead})`,
    ...list('recorded but undecided', check.undecided),
    ...list('never recorded nor decided', check.unrecorded),
    ...list('refused but not refunded', check.unrefunded),
    ...list('refunded although confirmed', check.refundedConfirmed),
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'grace-seconds': { type: 'string', default: '60' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.error('usage: npm run payments:check [-- --grace-seconds <seconds, default 60>] [--json]');
    process.exit(0);
  }
  const raw = values['grace-seconds'];
  const graceSeconds = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(graceSeconds)) {
    console.error(`--grace-seconds: expected a whole number of seconds, got '${raw}'`);
    process.exit(2);
  }
  const config = loadConfig();
  const logger = createLogger(config, 'payments-check');
  const check = await checkPayments({ config, logger, graceMs: graceSeconds * 1000 });
  console.log(values.json ? JSON.stringify(check) : formatCheck(check, graceSeconds));
  process.exitCode = check.ok ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? `payments:check: ${error.message}` : error);
    process.exit(2);
  });
}
