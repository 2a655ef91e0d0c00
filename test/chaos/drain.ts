/**
 * Waits until the system has caught up after the load: the decider's group has committed every command and
 * each sink's group every event (lag 0), and neither topic has grown, for three polls a second apart — and
 * not before `notBefore` (the last short hold's expiry, which the decider writes without any command).
 * Gives up after `timeoutMs` and says how far behind each group was.
 */
import type { Admin } from 'kafkajs';
import { SINK_NAMES } from '../../common/topics.ts';
import type { ChaosEnvironment } from './environment.ts';
import { sleep } from './sleep.ts';

export interface DrainResult {
  readonly drained: boolean;
  readonly ms: number;
  /** Records not committed yet, per consumer group, at the last poll. */
  readonly lags: Readonly<Record<string, number>>;
}

async function lagOf(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [committed, ends] = await Promise.all([
    admin.fetchOffsets({ groupId, topics: [topic] }),
    admin.fetchTopicOffsets(topic),
  ]);
  const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  let lag = 0;
  for (const end of ends) {
    const at = done.get(end.partition) ?? -1;
    lag += Math.max(0, Number(end.high) - (at >= 0 ? at : Number(end.low)));
  }
  return lag;
}

async function endsOf(admin: Admin, topics: readonly string[]): Promise<string> {
  const all = await Promise.all(topics.map((t) => admin.fetchTopicOffsets(t)));
  return all.map((ends) => ends.map((e) => `${e.partition}:${e.high}`).join(',')).join('|');
}

export async function drain(
  env: ChaosEnvironment,
  notBefore: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<DrainResult> {
  const started = Date.now();
  const groups: [string, string][] = [
    [`${env.prefix}${env.config.processor.groupId}`, env.topics.commands],
    ...SINK_NAMES.map((s): [string, string] => [`${env.prefix}slotstream-sink-${s}`, env.topics.events]),
  ];
  const admin = env.kafka.admin();
  await admin.connect();
  let lags: Record<string, number> = {};
  try {
    let quiet = 0;
    let lastEnds = '';
    for (;;) {
      try {
        const values = await Promise.all(groups.map(([g, t]) => lagOf(admin, g, t)));
        lags = Object.fromEntries(groups.map(([g], i) => [g.slice(env.prefix.length), values[i] ?? 0]));
        const ends = await endsOf(admin, [env.topics.commands, env.topics.events]);
        const caughtUp = values.every((v) => v === 0) && ends === lastEnds;
        quiet = caughtUp ? quiet + 1 : 0;
        lastEnds = ends;
      } catch {
        quiet = 0; // the broker or a group coordinator is busy: ask again
      }
      if (quiet >= 3 && Date.now() >= notBefore) return { drained: true, ms: Date.now() - started, lags };
      if (Date.now() - started > timeoutMs || signal?.aborted) {
        return { drained: false, ms: Date.now() - started, lags };
      }
      await sleep(1_000, signal);
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Waits until each consumer group has committed at least `ends` (what the checker read) on `topic`; returns
 * a line per group that had not after `timeoutMs`.
 */
export async function waitCommitted(
  env: ChaosEnvironment,
  groups: readonly string[],
  topic: string,
  ends: ReadonlyMap<number, bigint>,
  timeoutMs = 60_000,
): Promise<string[]> {
  const admin = env.kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const behind: string[] = [];
      for (const group of groups) {
        try {
          const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
          const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
          const short = [...ends].filter(([p, end]) => end > 0n && (at.get(p) ?? -1n) < end);
          if (short.length > 0) {
            behind.push(
              `${group.slice(env.prefix.length)} had not committed ${topic.slice(env.prefix.length)} up to what was checked: ` +
                short.map(([p, end]) => `partition ${p} at ${at.get(p) ?? -1n} of ${end}`).join(', '),
            );
          }
        } catch (error) {
          behind.push(`${group}: ${(error as Error).message}`);
        }
      }
      if (behind.length === 0 || Date.now() > deadline) return behind;
      await sleep(500);
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
