/**
 * Idempotency-Key storage in PostgreSQL (table api_idempotency_keys), so keys survive a restart and hold
 * across API instances.
 *
 * The first request with a key claims it (a pending row with a lease and the ids it will use); the answer
 * is stored when it is known. A later request with the key gets that answer, or 409 while the first is
 * still running, or 422 if its request differs. When the first attempt ended without knowing whether its
 * command reached Kafka (a 5xx), the row keeps its ids and the lease is released: the retry takes it over
 * and re-sends the very same command (same command and reservation ids), which the decider deduplicates.
 */
import type pg from 'pg';

/** Ids assigned on the first attempt and reused by every retry. */
export type AssignedIds = Readonly<Record<string, string>>;

/** A stored answer. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type ClaimResult =
  | { readonly kind: 'claimed'; readonly ids: AssignedIds; readonly takenOver: boolean }
  | { readonly kind: 'replay'; readonly response: StoredResponse }
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'in-progress' };

export interface IdempotencyStore {
  /** Claims `key` for `principal`, or says why not. `ids` are stored if the claim is new. */
  claim(
    principal: string,
    key: string,
    fingerprint: Buffer,
    ids: AssignedIds,
    leaseMs: number,
  ): Promise<ClaimResult>;
  /** Stores the answer; later requests with the key get it. */
  complete(principal: string, key: string, response: StoredResponse): Promise<void>;
  /** Ends the lease but keeps the ids: the outcome is unknown and a retry must re-send the same command. */
  release(principal: string, key: string): Promise<void>;
  /** Forgets the key: nothing was done, a retry is a new request. */
  forget(principal: string, key: string): Promise<void>;
  /** Deletes keys created more than `ttlMs` ago; returns how many. */
  purge(ttlMs: number): Promise<number>;
}

interface Row {
  fingerprint: Buffer;
  ids: AssignedIds;
  state: 'pending' | 'completed';
  lease_expired: boolean;
  status_code: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
  inserted: boolean;
}

/** The PostgreSQL store. */
export class PgIdempotencyStore implements IdempotencyStore {
  constructor(private readonly pool: pg.Pool) {}

  async claim(
    principal: string,
    key: string,
    fingerprint: Buffer,
    ids: AssignedIds,
    leaseMs: number,
  ): Promise<ClaimResult> {
    // A row committed by a concurrent claim after this statement's snapshot is invisible to its SELECT
    // part; the statement then returns nothing and is simply asked again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const { rows } = await this.pool.query<Row>(
        `WITH ins AS (
           INSERT INTO api_idempotency_keys (principal, idempotency_key, fingerprint, ids, state, locked_until)
           VALUES ($1, $2, $3, $4, 'pending', now() + $5 * interval '1 millisecond')
           ON CONFLICT DO NOTHING
           RETURNING fingerprint, ids, state, false AS lease_expired, status_code, response_headers,
                     response_body, true AS inserted)
         SELECT * FROM ins
         UNION ALL
         SELECT fingerprint, ids, state, locked_until < now() AS lease_expired, status_code, response_headers,
                response_body, false AS inserted
         FROM api_idempotency_keys
         WHERE principal = $1 AND idempotency_key = $2 AND NOT EXISTS (SELECT 1 FROM ins)`,
        [principal, key, fingerprint, JSON.stringify(ids), leaseMs],
      );
      const row = rows[0];
      if (!row) continue;
      if (row.inserted) return { kind: 'claimed', ids: row.ids, takenOver: false };
      if (!row.fingerprint.equals(fingerprint)) return { kind: 'mismatch' };
      if (row.state === 'completed') {
        return {
          kind: 'replay',
          response: {
            statusCode: row.status_code ?? 200,
            headers: row.response_headers ?? {},
            body: row.response_body ?? '',
          },
        };
      }
      if (!row.lease_expired) return { kind: 'in-progress' };
      const taken = await this.pool.query<{ ids: AssignedIds }>(
        `UPDATE api_idempotency_keys SET locked_until = now() + $3 * interval '1 millisecond'
         WHERE principal = $1 AND idempotency_key = $2 AND state = 'pending' AND locked_until < now()
         RETURNING ids`,
        [principal, key, leaseMs],
      );
      const takenRow = taken.rows[0];
      if (takenRow) return { kind: 'claimed', ids: takenRow.ids, takenOver: true };
      // Someone else took it over or completed it in between: look again.
    }
    return { kind: 'in-progress' };
  }

  async complete(principal: string, key: string, response: StoredResponse): Promise<void> {
    await this.pool.query(
      `UPDATE api_idempotency_keys
       SET state = 'completed', locked_until = NULL, status_code = $3, response_headers = $4,
           response_body = $5, completed_at = now()
       WHERE principal = $1 AND idempotency_key = $2`,
      [principal, key, response.statusCode, JSON.stringify(response.headers), response.body],
    );
  }

  async release(principal: string, key: string): Promise<void> {
    await this.pool.query(
      `UPDATE api_idempotency_keys SET locked_until = now()
       WHERE principal = $1 AND idempotency_key = $2 AND state = 'pending'`,
      [principal, key],
    );
  }

  async forget(principal: string, key: string): Promise<void> {
    await this.pool.query(
      `DELETE FROM api_idempotency_keys WHERE principal = $1 AND idempotency_key = $2 AND state = 'pending'`,
      [principal, key],
    );
  }

  async purge(ttlMs: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM api_idempotency_keys WHERE created_at < now() - $1 * interval '1 millisecond'`,
      [ttlMs],
    );
    return rowCount ?? 0;
  }
}

/** An in-memory store with the same semantics, for unit tests. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly rows = new Map<
    string,
    {
      fingerprint: Buffer;
      ids: AssignedIds;
      response?: StoredResponse;
      lockedUntil: number;
      createdAt: number;
    }
  >();

  constructor(private readonly clock: () => number = Date.now) {}

  async claim(principal: string, key: string, fingerprint: Buffer, ids: AssignedIds, leaseMs: number) {
    const id = `${principal}\u0000${key}`;
    const row = this.rows.get(id);
    const now = this.clock();
    if (!row) {
      this.rows.set(id, { fingerprint, ids, lockedUntil: now + leaseMs, createdAt: now });
      return { kind: 'claimed', ids, takenOver: false } as const;
    }
    if (!row.fingerprint.equals(fingerprint)) return { kind: 'mismatch' } as const;
    if (row.response) return { kind: 'replay', response: row.response } as const;
    if (row.lockedUntil > now) return { kind: 'in-progress' } as const;
    row.lockedUntil = now + leaseMs;
    return { kind: 'claimed', ids: row.ids, takenOver: true } as const;
  }

  async complete(principal: string, key: string, response: StoredResponse) {
    const row = this.rows.get(`${principal}\u0000${key}`);
    if (row) row.response = response;
  }

  async release(principal: string, key: string) {
    const row = this.rows.get(`${principal}\u0000${key}`);
    if (row && !row.response) row.lockedUntil = this.clock();
  }

  async forget(principal: string, key: string) {
    const id = `${principal}\u0000${key}`;
    if (!this.rows.get(id)?.response) this.rows.delete(id);
  }

  async purge(ttlMs: number) {
    let n = 0;
    for (const [id, row] of this.rows) {
      if (row.createdAt < this.clock() - ttlMs) {
        this.rows.delete(id);
        n++;
      }
    }
    return n;
  }
}
