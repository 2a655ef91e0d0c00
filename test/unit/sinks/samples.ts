/** SinkEvents for unit tests, from the generator (no broker). */
import type { Event } from '../../../schemas/generated/types.ts';
import type { SinkEvent } from '../../../sinks/runtime/types.ts';

export function sinkEvent(event: Event, offset = 0, partition = 0): SinkEvent {
  return {
    event,
    attributes: {
      id: event.eventId,
      source: '/test',
      type: `slotstream.events.${event.type}`,
      time: event.decidedAt,
      subject: event.resourceId,
      correlationId: event.causationCommandId,
      causationId: event.causationCommandId,
    },
    record: {
      topic: 'events',
      partition,
      offset: String(offset),
      timestamp: event.decidedAt,
      key: Buffer.from(event.resourceId),
      value: Buffer.from([0, 0, 0, 0, 1]),
      headers: { ce_id: event.eventId },
    },
  };
}
