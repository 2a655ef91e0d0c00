/**
 * Crash loop: a steady stream of commands for a few small resources while the decider process is killed
 * with SIGKILL again and again and restarted. An independent checker then reads the events topic with
 * read_committed: every command decided exactly once, no reservation held twice, capacity never exceeded.
 * CRASH_CYCLES sets the number of kills (default 20). It prints the time from each kill to the next decision.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CancelReservation, Command } from '../../../schemas/generated/types.ts';
import { eventually, uniqueName } from '../../helpers.ts';
import { checkDecisions } from '../../support/capacity-checker.ts';
import {
  customer,
  DeciderFixture,
  requestReservation,
  upsertResource,
} from '../../support/decider-fixture.ts';

const CYCLES = Number(process.env.CRASH_CYCLES ?? 20);
const SESSION_TIMEOUT_MS = 3_000;
const root = fileURLToPath(new URL('../../..', import.meta.url));
const HOUR = 3_600_000;

let fixture: DeciderFixture | undefined;
let child: ChildProcess | undefined;

function startProcess(config: DeciderFixture['config']): ChildProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'processors/run.ts'], {
    cwd: root,
    env: {
      ...process.env,
      TOPIC_PREFIX: config.kafka.topicPrefix,
      TOPIC_PARTITIONS: String(config.kafka.partitions),
      DECIDER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      DECIDER_METRICS_PORT: '0',
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return proc;
}

async function kill9(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

afterAll(async () => {
  if (child) await kill9(child);
  await fixture?.teardown();
});

describe('crash loop (kill -9 the decider process, real broker)', () => {
  it(`decides every command exactly once and never overbooks across ${CYCLES} kills`, {
    timeout: 60_000 + CYCLES * 30_000,
  }, async () => {
    fixture = await new DeciderFixture({ TOPIC_PARTITIONS: '2' }).setup();
    await fixture.readEvents();
    const f = fixture;

    const capacities = new Map<string, number>();
    const resources = Array.from({ length: 4 }, (_, i) =>
      upsertResource(uniqueName(`crash-${i}`), 2 + (i % 2)),
    );
    for (const r of resources) capacities.set(r.resourceId, r.capacity);
    const sent = new Set<string>();
    const record = (commands: Command[]) => {
      for (const c of commands) sent.add(c.commandId);
      return f.send(commands);
    };
    await record(resources);

    // Steady load: requests over a few overlapping slots, and cancellations of earlier requests.
    const base = Date.now() + 24 * HOUR;
    const requested: { resourceId: string; reservationId: string; customerId: string }[] = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        const batch: Command[] = [];
        for (let i = 0; i < 4; i++) {
          const resource = resources[Math.floor(Math.random() * resources.length)];
          if (!resource) continue;
          const earlier = requested[Math.floor(Math.random() * requested.length)];
          if (earlier && Math.random() < 0.25) {
            const cancel: CancelReservation = {
              type: 'CancelReservation',
              commandId: randomUUID(),
              idempotencyKey: null,
              acceptedAt: Date.now(),
              resourceId: earlier.resourceId,
              reservationId: earlier.reservationId,
              customerId: earlier.customerId,
              reason: 'crash-loop',
            };
            batch.push(cancel);
            continue;
          }
          const slot = Math.floor(Math.random() * 6);
          const length = 1 + Math.floor(Math.random() * 3);
          const who = customer();
          const request = requestReservation(
            resource.resourceId,
            base + slot * HOUR,
            base + (slot + length) * HOUR,
            1 + Math.floor(Math.random() * 2),
            { customer: who },
          );
          requested.push({
            resourceId: request.resourceId,
            reservationId: request.reservationId,
            customerId: who.id,
          });
          batch.push(request);
        }
        await record(batch);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    const recoveries: number[] = [];
    child = startProcess(f.config);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // Let it decide for a while (until at least one fresh decision), then kill it mid-stream.
      const seen = f.events.length;
      await eventually(async () => (f.events.length > seen ? true : undefined), {
        timeoutMs: 60_000,
        what: `decisions before kill ${cycle + 1}`,
      });
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));
      const killedAt = Date.now();
      await kill9(child);
      child = startProcess(f.config);
      const next = await eventually(
        async () => f.events.find((e) => e.message.decidedAt > killedAt && e.attributes.time > killedAt),
        { timeoutMs: 60_000, intervalMs: 20, what: `a decision after kill ${cycle + 1}` },
      );
      recoveries.push(next.message.decidedAt - killedAt);
    }
    loading = false;
    await load;

    // Let the last process drain everything that was sent, then check.
    await eventually(
      async () => {
        const report = checkDecisions(
          f.events.map((e) => e.message),
          sent,
          capacities,
        );
        return report.missing.length === 0 ? report : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'every sent command to be decided' },
    );
    await new Promise((r) => setTimeout(r, 1_000)); // a duplicate would show up meanwhile
    const ordered = [...f.events].sort(
      (a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)),
    );
    const report = checkDecisions(
      ordered.map((e) => e.message),
      sent,
      capacities,
    );
    const sorted = [...recoveries].sort((a, b) => a - b);
    console.log(
      `crash loop: ${CYCLES} kills, ${report.commands} commands, ${f.events.length} events; ` +
        `kill -9 → next decision ms: min ${sorted[0]}, median ${sorted[Math.floor(sorted.length / 2)]}, ` +
        `max ${sorted[sorted.length - 1]} (session timeout ${SESSION_TIMEOUT_MS} ms)`,
    );
    expect(report.missing).toEqual([]);
    expect(report.decidedMoreThanOnce).toEqual([]);
    expect(report.heldTwice).toEqual([]);
    expect(report.overbooked).toEqual([]);
    expect(report.decidedOnce).toBe(report.commands);
  });
});
