/**
 * Chaos, end to end: a fixed-rate load through the HTTP API and through the producer library while the
 * decider, the API and each of the four sinks are killed with SIGKILL and restarted, and the broker (a
 * private one: test/support/private-broker.ts) is restarted gracefully and by kill -9. Afterwards an
 * independent checker (test/chaos/checker.ts: its own Avro decoding, read_committed) holds every answer the
 * load was given against the topics, the payment ledger, the read model, ClickHouse and Mailpit. The harness
 * is test/chaos/; `npm run chaos -- --minutes 10` runs the same for longer.
 *
 * CHAOS_RATE (operations/s, default 120) and CHAOS_LOAD_SECONDS (default 75) scale it.
 */
import { describe, expect, it } from 'vitest';
import { finalOutcome } from '../../chaos/load.ts';
import { FAULT_CYCLE, suiteOptions } from '../../chaos/options.ts';
import { formatReport } from '../../chaos/report.ts';
import { runChaos } from '../../chaos/run.ts';

const rate = Number(process.env.CHAOS_RATE ?? 120);
const loadMs = Number(process.env.CHAOS_LOAD_SECONDS ?? 75) * 1000;

describe('chaos (kill -9 of every worker, broker restarts, load through the API and the library)', () => {
  it('answers truthfully, decides once, never overbooks, and every sink ends consistent', {
    timeout: 20 * 60_000,
  }, async () => {
    const report = await runChaos(suiteOptions({ rate, loadMs }));
    console.log(formatReport(report));

    // The run did what it claims: every fault, both broker restarts among them, under real load.
    expect(report.faults.map((f) => f.kind).sort()).toEqual([...FAULT_CYCLE].sort());
    const decided = report.operations.filter((op) => ['accepted', 'rejected'].includes(finalOutcome(op)));
    expect(decided.filter((op) => op.channel === 'http').length).toBeGreaterThan(rate * 10);
    expect(decided.filter((op) => op.channel === 'library').length).toBeGreaterThan(rate * 5);
    expect(report.checks.find((c) => c.id === '4')?.checked ?? 0).toBeGreaterThan(0); // payments happened
    expect(report.checks.find((c) => c.id === '6')?.checked ?? 0).toBeGreaterThan(0); // mail was due

    for (const c of report.checks) {
      expect
        .soft(c.violations.slice(0, 5), `(${c.id}) ${c.title}: ${c.violations.length} violation(s)`)
        .toEqual([]);
    }
  });
});
