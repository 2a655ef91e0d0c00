/** The report of a chaos run: what was offered, what was done to the system, and what each check found. */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult } from './checker.ts';
import type { DrainResult } from './drain.ts';
import type { FaultRecord } from './faults.ts';
import { type AttemptOutcome, finalOutcome, type LoadStats, type Operation } from './load.ts';
import type { ChaosOptions } from './options.ts';
import type { UnplannedExit } from './worker-process.ts';

export interface ChaosReport {
  readonly runId: string;
  readonly logDir: string;
  readonly options: Pick<
    ChaosOptions,
    'rate' | 'loadMs' | 'resources' | 'capacity' | 'partitions' | 'httpShare'
  >;
  /** Phase durations in ms. */
  readonly timings: Readonly<Record<'setup' | 'load' | 'settle' | 'drain' | 'check' | 'total', number>>;
  readonly load: LoadStats;
  readonly operations: readonly Operation[];
  readonly faults: readonly FaultRecord[];
  readonly unplannedExits: readonly UnplannedExit[];
  readonly drain: DrainResult;
  /** Records on each dead-letter topic. */
  readonly deadLetters: Readonly<Record<string, number>>;
  readonly mailDeletedMeanwhile: number;
  readonly checks: readonly CheckResult[];
}

/** True when no check found anything. */
export function passed(report: ChaosReport): boolean {
  return report.checks.every((c) => c.violations.length === 0);
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const padStart = (s: string | number, n: number) => String(s).padStart(n);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** HH:MM:SS.s in UTC. */
export const clock = (epochMs: number) => new Date(epochMs).toISOString().slice(11, 21);

/** Counts of operations by channel, kind and final outcome, and the HTTP answers seen. */
function loadTable(operations: readonly Operation[]): string[] {
  const outcomes: AttemptOutcome[] = ['accepted', 'rejected', 'refused', 'unknown'];
  const rows = new Map<string, Record<AttemptOutcome, number> & { total: number; attempts: number }>();
  const statuses = new Map<string, number>();
  for (const op of operations) {
    const key = `${op.channel} ${op.op}`;
    const row = rows.get(key) ?? { total: 0, attempts: 0, accepted: 0, rejected: 0, refused: 0, unknown: 0 };
    row.total += 1;
    row.attempts += op.attempts.length;
    row[finalOutcome(op)] += 1;
    rows.set(key, row);
    for (const a of op.attempts) {
      const label = op.channel === 'http' ? `HTTP ${a.status || a.code}` : `library ${a.code ?? 'delivered'}`;
      statuses.set(label, (statuses.get(label) ?? 0) + 1);
    }
  }
  const lines = [
    `  ${pad('operations', 18)}${padStart('total', 8)}${padStart('attempts', 10)}${outcomes.map((o) => padStart(o, 10)).join('')}`,
  ];
  for (const [key, row] of [...rows].sort()) {
    lines.push(
      `  ${pad(key, 18)}${padStart(row.total, 8)}${padStart(row.attempts, 10)}${outcomes.map((o) => padStart(row[o], 10)).join('')}`,
    );
  }
  lines.push(
    `  answers: ${[...statuses]
      .sort((a, b) => b[1] - a[1])
      .map(([s, n]) => `${s} ×${n}`)
      .join(', ')}`,
  );
  return lines;
}

/** The report as text: load, faults, recovery, then one row per check and up to `examples` violations each. */
export function formatReport(report: ChaosReport, examples = 5): string {
  const t = report.timings;
  const o = report.options;
  const lines: string[] = [
    '',
    `chaos run ${report.runId}: ${o.rate} operations/s for ${seconds(o.loadMs)} (${Math.round(o.httpShare * 100)}% HTTP), ` +
      `${o.resources} resources of capacity ${o.capacity}, ${o.partitions} partitions`,
    `  phases: setup ${seconds(t.setup)}, load ${seconds(t.load)}, re-sends ${seconds(t.settle)}, ` +
      `drain ${seconds(t.drain)}, check ${seconds(t.check)}; total ${seconds(t.total)}`,
    `  offered ${report.load.planned} operations (${report.load.shed} shed: too many waiting), ` +
      `${report.load.attempts} attempts, ${report.load.retries} re-sends`,
    ...loadTable(report.operations),
    '  faults:',
    ...report.faults.map(
      (f) =>
        `    t=${padStart((f.atMs / 1000).toFixed(1), 6)}s (${clock(f.at)}) ${pad(f.kind, 28)} back in ${padStart(f.recoveredMs, 6)} ms, ` +
        `all healthy in ${padStart(f.allHealthyMs, 6)} ms${f.error ? `  FAILED: ${f.error.split('\n')[0]}` : ''}`,
    ),
    `  workers that exited on their own: ${
      report.unplannedExits.length === 0
        ? 'none'
        : report.unplannedExits.map((x) => `${x.worker} (code ${x.code}, signal ${x.signal})`).join(', ')
    }`,
    `  drain: ${report.drain.drained ? 'caught up' : 'NOT caught up'} in ${seconds(report.drain.ms)}; lag ${Object.entries(
      report.drain.lags,
    )
      .map(([g, n]) => `${g} ${n}`)
      .join(', ')}`,
    `  dead letters: ${Object.entries(report.deadLetters)
      .map(([topic, n]) => `${topic} ${n}`)
      .join(', ')}`,
    ...(report.mailDeletedMeanwhile > 0
      ? [
          `  NOTE: Mailpit deleted ${report.mailDeletedMeanwhile} messages during the run (pruned or emptied by someone)`,
        ]
      : []),
    `  logs: ${report.logDir}`,
    '',
    `  ${pad('check', 76)}${padStart('checked', 9)}${padStart('violations', 12)}`,
  ];
  for (const c of report.checks) {
    lines.push(
      `  ${pad(`(${c.id}) ${c.title}`, 76)}${padStart(c.checked, 9)}${padStart(c.violations.length, 12)}${c.violations.length ? '  FAIL' : ''}`,
    );
    for (const note of c.notes) if (note) lines.push(`        ${note}`);
  }
  const failed = report.checks.filter((c) => c.violations.length > 0);
  for (const c of failed) {
    lines.push('', `  (${c.id}) ${c.title}: ${c.violations.length} violation(s), e.g.`);
    for (const v of c.violations.slice(0, examples)) lines.push(`    - ${v}`);
  }
  lines.push(
    '',
    failed.length === 0 ? '  every check passed' : `  FAILED: ${failed.map((c) => `(${c.id})`).join(' ')}`,
    '',
  );
  return lines.join('\n');
}

/**
 * Writes the run's record into its log directory: `report.txt`, and for a post-mortem when a check failed,
 * every violation in `violations.json` and every operation with all its attempts in `operations.jsonl`.
 */
export async function saveReport(report: ChaosReport): Promise<void> {
  const write = async (name: string, lines: Iterable<string>) => {
    const out = createWriteStream(join(report.logDir, name));
    for (const line of lines) if (!out.write(line)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
  };
  await write('report.txt', [formatReport(report, 20)]);
  if (passed(report)) return;
  await write('violations.json', [
    JSON.stringify(
      Object.fromEntries(report.checks.map((c) => [`(${c.id}) ${c.title}`, c.violations])),
      null,
      2,
    ),
  ]);
  await write(
    'operations.jsonl',
    (function* () {
      for (const op of report.operations) {
        const { command, ...rest } = op as Operation & { command?: unknown };
        yield `${JSON.stringify({ ...rest, final: finalOutcome(op), ...(command ? { command } : {}) })}\n`;
      }
    })(),
  );
}
