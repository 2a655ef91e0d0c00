/**
 * Idempotency memory of one resource: which commands were decided, found by commandId or by
 * (principal, idempotencyKey).
 *
 * A command seen again is not decided again: decide answers with a single DUPLICATE rejection that names
 * the original command (`duplicateOf`), and evolve leaves the state untouched for it. The original events
 * are not re-emitted, because re-applying them would double-apply them on every rebuild; a waiting client
 * finds the original outcome by the original command id.
 *
 * The memory is bounded: the last `capacity` decided commands, in decision order, and none older than
 * `windowMs` before the newest one. Both bounds use only data from the events (decidedAt), so a rebuild
 * from the events evicts exactly the same entries. The API's Idempotency-Key store is the first guard;
 * this one catches redeliveries and retries that slip past it.
 */

/** One remembered command. */
export interface IdempotencyEntry {
  readonly commandId: string;
  /** Whose key it is: customer id for reservation commands, actor id for resource commands. */
  readonly principal: string;
  readonly idempotencyKey: string | null;
  /** decidedAt of its events (processor clock). */
  readonly decidedAt: number;
  /** Record name of its first event, e.g. ReservationHeld. */
  readonly outcome: string;
}

const scoped = (principal: string, key: string): string => `${principal}\u0000${key}`;

/** Remembers recently decided commands of one resource; see the module comment for the bounds. */
export class IdempotencyMemory {
  /** Insertion order is decision order: the first entry is the oldest. */
  private readonly byCommand = new Map<string, IdempotencyEntry>();
  private readonly byKey = new Map<string, IdempotencyEntry>();

  constructor(
    private readonly capacity: number,
    private readonly windowMs: number,
    /** Told the commandId of every entry remembered or forgotten (the state's change journal). */
    private readonly onChange?: (commandId: string) => void,
  ) {}

  get size(): number {
    return this.byCommand.size;
  }

  /** The earlier decision of the same command (same commandId, or same key from the same principal). */
  find(commandId: string, principal: string, idempotencyKey: string | null): IdempotencyEntry | undefined {
    const byId = this.byCommand.get(commandId);
    if (byId !== undefined || idempotencyKey === null) return byId;
    return this.byKey.get(scoped(principal, idempotencyKey));
  }

  /** Records a decided command, then evicts beyond the capacity and the window. */
  remember(entry: IdempotencyEntry): void {
    if (this.byCommand.has(entry.commandId)) return;
    this.byCommand.set(entry.commandId, entry);
    this.onChange?.(entry.commandId);
    if (entry.idempotencyKey !== null) this.byKey.set(scoped(entry.principal, entry.idempotencyKey), entry);
    const oldestKept = entry.decidedAt - this.windowMs;
    for (const oldest of this.byCommand.values()) {
      if (this.byCommand.size <= this.capacity && oldest.decidedAt >= oldestKept) break;
      this.forget(oldest);
    }
  }

  /** The remembered entry of a command, if any. */
  get(commandId: string): IdempotencyEntry | undefined {
    return this.byCommand.get(commandId);
  }

  /** Entries oldest first, as plain data. */
  entries(): IdempotencyEntry[] {
    return [...this.byCommand.values()];
  }

  private forget(entry: IdempotencyEntry): void {
    this.byCommand.delete(entry.commandId);
    this.onChange?.(entry.commandId);
    if (entry.idempotencyKey === null) return;
    const key = scoped(entry.principal, entry.idempotencyKey);
    if (this.byKey.get(key) === entry) this.byKey.delete(key);
  }
}
