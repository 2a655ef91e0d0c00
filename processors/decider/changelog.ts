/**
 * The decider's changelog format: one record per entity of a resource, so a transaction writes what the
 * batch changed — not the whole resource, which for a busy resource would be megabytes per batch.
 *
 *   key `<resourceId>`                    → { k: 'resource', resourceId, resource }
 *   key `<resourceId>␀r␀<reservationId>`  → { k: 'reservation', resourceId, reservation }   (live or inactive)
 *   key `<resourceId>␀c␀<commandId>`      → { k: 'command', resourceId, entry }             (idempotency memory)
 *
 * A forgotten reservation or command is written as a tombstone, so compaction keeps the topic as large as
 * the states themselves. Restoring replays a partition in offset order keeping each key's last value; the
 * entities' order of last write is the order the state kept them in (inactive and idempotency memory evict
 * oldest first), so the restored state equals the one that was kept.
 */
import {
  clearJournal,
  type IdempotencyEntry,
  isLive,
  type Reservation,
  type ResourceInfo,
  type ResourceState,
  type ResourceStateJson,
} from '../core/index.ts';
import type { OutboundRecord } from '../ports.ts';

type Entity =
  | { readonly k: 'resource'; readonly resourceId: string; readonly resource: ResourceInfo | null }
  | { readonly k: 'reservation'; readonly resourceId: string; readonly reservation: Reservation }
  | { readonly k: 'command'; readonly resourceId: string; readonly entry: IdempotencyEntry };

const SEP = '\u0000';

/** The changelog records for what evolve changed in `state` since the last call; drains the journal. */
export function changelogRecords(state: ResourceState, topic: string, partition: number): OutboundRecord[] {
  const journal = state.journal;
  if (!journal) throw new Error('the decider needs core option trackChanges');
  const id = state.resourceId;
  const out: OutboundRecord[] = [];
  const write = (key: string, entity: Entity | null) =>
    out.push({ topic, partition, key, value: entity ? Buffer.from(JSON.stringify(entity)) : null });
  if (journal.resource) write(id, { k: 'resource', resourceId: id, resource: state.resource });
  for (const reservationId of journal.reservations) {
    const reservation = state.live.get(reservationId) ?? state.inactive.get(reservationId);
    write(
      `${id}${SEP}r${SEP}${reservationId}`,
      reservation ? { k: 'reservation', resourceId: id, reservation } : null,
    );
  }
  for (const commandId of journal.commands) {
    const entry = state.idempotency.get(commandId);
    write(`${id}${SEP}c${SEP}${commandId}`, entry ? { k: 'command', resourceId: id, entry } : null);
  }
  clearJournal(journal);
  return out;
}

/** Collects one partition's changelog records (in offset order) and turns them into resource states. */
export class ChangelogRestorer {
  private readonly latest = new Map<string, Entity>();

  add(key: Buffer | null, value: Buffer | null): void {
    if (key === null) return;
    const k = key.toString('utf8');
    if (value === null) {
      this.latest.delete(k);
      return;
    }
    const entity = JSON.parse(value.toString('utf8')) as Entity;
    // A key's position must be where the state keeps it: a reservation enters `live` when held or reopened
    // and keeps its place when confirmed; it enters `inactive`, and a command enters the idempotency
    // memory, at its (last) write. So an update of a live reservation that stays live keeps its place;
    // every other write moves the key to the end.
    const previous = this.latest.get(k);
    if (!(previous && stillLive(previous, entity))) this.latest.delete(k);
    this.latest.set(k, entity);
  }

  states(): ResourceStateJson[] {
    const byResource = new Map<
      string,
      {
        resource: ResourceInfo | null;
        live: Reservation[];
        inactive: Reservation[];
        idempotency: IdempotencyEntry[];
      }
    >();
    const of = (resourceId: string) => {
      let s = byResource.get(resourceId);
      if (!s) {
        s = { resource: null, live: [], inactive: [], idempotency: [] };
        byResource.set(resourceId, s);
      }
      return s;
    };
    for (const entity of this.latest.values()) {
      const s = of(entity.resourceId);
      if (entity.k === 'resource') s.resource = entity.resource;
      else if (entity.k === 'reservation')
        (isLive(entity.reservation.status) ? s.live : s.inactive).push(entity.reservation);
      else s.idempotency.push(entity.entry);
    }
    return [...byResource].map(([resourceId, s]) => ({ resourceId, ...s }));
  }
}

function stillLive(previous: Entity, next: Entity): boolean {
  return (
    previous.k === 'reservation' &&
    next.k === 'reservation' &&
    isLive(previous.reservation.status) &&
    isLive(next.reservation.status)
  );
}
