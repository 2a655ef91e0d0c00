/**
 * Scale-out and rebalance: deciders join and leave the group while commands flow. Partitions move between
 * them (each move fences the previous owner and restores from the changelog); an independent read_committed
 * checker then finds every command decided exactly once and no resource overbooked.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Command } from '../../../schemas/generated/types.ts';
import { eventually, uniqueName } from '../../helpers.ts';
import { checkDecisions } from '../../support/capacity-checker.ts';
import {
  customer,
  DeciderFixture,
  requestReservation,
  upsertResource,
} from '../../support/decider-fixture.ts';

const HOUR = 3_600_000;
let fixture: DeciderFixture | undefined;

afterAll(async () => {
  await fixture?.teardown();
});

describe('rebalance (deciders joining and leaving, real broker)', () => {
  it('decides every command exactly once while partitions move between deciders', {
    timeout: 180_000,
  }, async () => {
    fixture = await new DeciderFixture({ TOPIC_PARTITIONS: '4' }).setup();
    await fixture.readEvents();
    const f = fixture;
    const resources = Array.from({ length: 8 }, (_, i) => upsertResource(uniqueName(`rebalance-${i}`), 2));
    const capacities = new Map(resources.map((r) => [r.resourceId, r.capacity]));
    const sent = new Set<string>();
    const send = async (commands: Command[]) => {
      for (const c of commands) sent.add(c.commandId);
      await f.send(commands);
    };
    await send(resources);

    const base = Date.now() + 24 * HOUR;
    let loading = true;
    const load = (async () => {
      while (loading) {
        const batch = Array.from({ length: 5 }, () => {
          const r = resources[Math.floor(Math.random() * resources.length)] ?? resources[0];
          const slot = Math.floor(Math.random() * 4);
          return requestReservation(r?.resourceId ?? '', base + slot * HOUR, base + (slot + 2) * HOUR, 1, {
            customer: customer(),
          });
        });
        await send(batch);
        await new Promise((r) => setTimeout(r, 30));
      }
    })();

    const waitForProgress = async (what: string) => {
      const seen = f.events.length;
      await eventually(async () => (f.events.length > seen + 20 ? true : undefined), {
        timeoutMs: 60_000,
        what,
      });
    };
    const a = await f.startDecider({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 });
    await waitForProgress('decisions by the first decider');
    const b = await f.startDecider({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 });
    await eventually(async () => (b.ownedPartitions().length > 0 ? true : undefined), {
      what: 'b to own a partition',
    });
    await waitForProgress('decisions by two deciders');
    await a.stop(); // leaves the group: its partitions move to b
    await eventually(async () => (b.ownedPartitions().length === 4 ? true : undefined), {
      what: 'b to own every partition',
    });
    await waitForProgress('decisions after the first decider left');
    loading = false;
    await load;

    const report = await eventually(
      async () => {
        const r = checkDecisions(
          f.events.map((e) => e.message),
          sent,
          capacities,
        );
        return r.missing.length === 0 ? r : undefined;
      },
      { timeoutMs: 60_000, what: 'every command to be decided' },
    );
    await new Promise((r) => setTimeout(r, 1_000));
    const ordered = [...f.events].sort(
      (x, y) => x.partition - y.partition || Number(BigInt(x.offset) - BigInt(y.offset)),
    );
    const final = checkDecisions(
      ordered.map((e) => e.message),
      sent,
      capacities,
    );
    expect(report.missing).toEqual([]);
    expect(final.decidedMoreThanOnce).toEqual([]);
    expect(final.heldTwice).toEqual([]);
    expect(final.overbooked).toEqual([]);
    expect(final.decidedOnce).toBe(final.commands);
  });
});
