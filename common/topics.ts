/**
 * The topic catalogue in code: every topic the system uses, with its partitioning and settings.
 * Topics are created from here (`npm run topics:create`), never auto-created by a client.
 * docs/topics.md describes what a downstream consumer may rely on.
 */
import type { Admin, ITopicConfig } from 'kafkajs';
import type { Config } from './config.ts';

/** The sinks that consume events; each has a dead-letter topic of its own. */
export const SINK_NAMES = ['postgres', 'clickhouse', 'payment', 'notification'] as const;
export type SinkName = (typeof SINK_NAMES)[number];

export interface TopicNames {
  /** Commands keyed by resource id. */
  readonly commands: string;
  /** Decided events keyed by resource id, written transactionally. */
  readonly events: string;
  /** The decider's state per resource, compacted; partition N holds the state of commands partition N. */
  readonly changelog: string;
  /** Commands the decider could not decode or apply, with the reason in headers. */
  readonly commandsDlq: string;
  /** Events a sink could never apply, one topic per sink. */
  readonly sinkDlq: Readonly<Record<SinkName, string>>;
}

export function topicNames(prefix = ''): TopicNames {
  const sinkDlq = Object.fromEntries(SINK_NAMES.map((s) => [s, `${prefix}reservations.events.dlq.${s}`]));
  return Object.freeze({
    commands: `${prefix}reservations.commands`,
    events: `${prefix}reservations.events`,
    changelog: `${prefix}reservations.changelog`,
    commandsDlq: `${prefix}reservations.commands.dlq`,
    sinkDlq: Object.freeze(sinkDlq) as Record<SinkName, string>,
  });
}

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;
const MONTH_MS = 30 * 24 * 60 * 60 * 1000;

/** The specification of every topic: partitions and configuration entries. */
export function topicSpecs(config: Pick<Config, 'kafka'>): ITopicConfig[] {
  const names = topicNames(config.kafka.topicPrefix);
  const partitions = config.kafka.partitions;
  const entries = (settings: Record<string, string | number>) =>
    Object.entries(settings).map(([name, value]) => ({ name, value: String(value) }));
  // Room for a busy resource's state in one changelog record (the broker default is 1 MiB).
  const maxMessageBytes = 16 * 1_048_576;
  const keyed = {
    'retention.ms': MONTH_MS,
    'compression.type': 'producer',
    'max.message.bytes': maxMessageBytes,
  };
  return [
    // Commands, events and changelog must have the same partition count: the decider pairs them by number.
    {
      topic: names.commands,
      numPartitions: partitions,
      configEntries: entries({ ...keyed, 'retention.ms': WEEK_MS }),
    },
    { topic: names.events, numPartitions: partitions, configEntries: entries(keyed) },
    {
      topic: names.changelog,
      numPartitions: partitions,
      configEntries: entries({
        'cleanup.policy': 'compact',
        'max.message.bytes': maxMessageBytes,
        'min.compaction.lag.ms': 60_000, // keep a minute of history for debugging restores
        'segment.ms': 60 * 60 * 1000, // roll hourly so compaction can run
      }),
    },
    { topic: names.commandsDlq, numPartitions: 1, configEntries: entries({ 'retention.ms': MONTH_MS }) },
    ...SINK_NAMES.map((sink) => ({
      topic: names.sinkDlq[sink],
      numPartitions: 1,
      configEntries: entries({ 'retention.ms': MONTH_MS }),
    })),
  ].map((spec) => ({ ...spec, replicationFactor: -1 }));
}

/**
 * Creates the topics that are missing and checks that existing ones have the expected partition count
 * (a mismatch would break the commands↔changelog pairing, so it is an error, not a warning).
 */
export async function ensureTopics(admin: Admin, specs: ITopicConfig[]): Promise<{ created: string[] }> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    await admin.createTopics({ topics: missing, waitForLeaders: false });
    await waitForLeaders(
      admin,
      missing.map((s) => s.topic),
    );
  }
  const present = specs.filter((s) => existing.has(s.topic));
  if (present.length > 0) {
    const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
    for (const topic of metadata.topics) {
      const want = specs.find((s) => s.topic === topic.name)?.numPartitions;
      if (want !== undefined && topic.partitions.length !== want) {
        throw new Error(
          `topic ${topic.name} has ${topic.partitions.length} partitions, expected ${want}; ` +
            'the commands, events and changelog topics must agree (recreate them or set TOPIC_PARTITIONS)',
        );
      }
    }
  }
  return { created: missing.map((s) => s.topic) };
}

/**
 * Waits until every partition of `topics` has a leader. kafkajs's own waitForLeaders gives up on
 * UNKNOWN_TOPIC_OR_PARTITION, which a busy broker answers for a moment after creating a topic.
 */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      if (found.length === topics.length && found.every((t) => t.partitions.every((p) => p.leader >= 0)))
        return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline)
      throw new Error(`topics ${topics.join(', ')} have no leader after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
