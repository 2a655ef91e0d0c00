/** The registry subjects this build owns, for the configured topic names (topic-record-name strategy). */
import type { Config } from '../common/config.ts';
import { topicNames } from '../common/topics.ts';
import { isCommandType, schemas } from './catalog.ts';
import { type OwnedSubject, ownedSubjects } from './registry-admin.ts';
import type { RecordSchema } from './serde.ts';

export function subjectsFor(config: Pick<Config, 'kafka'>): OwnedSubject[] {
  const names = topicNames(config.kafka.topicPrefix);
  const byTopic: Record<string, RecordSchema[]> = { [names.commands]: [], [names.events]: [] };
  for (const [name, schema] of schemas) {
    byTopic[isCommandType(name) ? names.commands : names.events]?.push(schema as RecordSchema);
  }
  return ownedSubjects(byTopic);
}
