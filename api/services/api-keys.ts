/**
 * API keys: random secrets shown once at creation and stored only as their SHA-256 digest.
 *
 * A key is 32 random bytes (256 bits), so a slow password hash (bcrypt, scrypt) would add nothing against
 * guessing and would cost milliseconds on every request; a plain digest, looked up through a unique
 * index, is what the major API providers do for machine-generated keys. Verified keys are cached by
 * digest for a short time (`keyCacheTtlMs`), so a revoked key stops working within that time.
 *
 * Valid and unknown digests are remembered in two bounded LRUs: a flood of invented keys fills and
 * churns the unknown one only, so valid keys stay cached whatever arrives; a repeated unknown key costs
 * one query per `negativeCacheTtlMs`; concurrent lookups of the same digest share one query.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Role } from '../config.ts';
import { Lru } from './lru.ts';

/** Who is calling: the key's id, its role and, for a customer key, the customer it is bound to. */
export interface Principal {
  readonly keyId: string;
  readonly role: Role;
  /** Set for customer keys only: the customer the key acts for. */
  readonly customerId: string | null;
  readonly name: string;
}

/** Looks a secret up; undefined when unknown or revoked. */
export interface KeyVerifier {
  verify(secret: string): Promise<Principal | undefined>;
  /** The principal of a key verified recently, answered from memory without a lookup; else undefined. */
  cached?(secret: string): Principal | undefined;
}

export interface ApiKeyRecord extends Principal {
  readonly prefix: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

const SECRET_PREFIX = 'slot_';
/** What a well-formed secret looks like: our prefix and 43 base64url characters (32 bytes). */
export const SECRET_PATTERN = /^slot_[A-Za-z0-9_-]{43}$/;

/** A new random secret. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** The digest stored for a secret. */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

interface Row {
  id: string;
  role: Role;
  customer_id: string | null;
  name: string;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

const toRecord = (row: Row): ApiKeyRecord => ({
  keyId: row.id,
  role: row.role,
  customerId: row.customer_id,
  name: row.name,
  prefix: row.prefix,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export interface ApiKeyStoreOptions {
  /** How long a valid key is trusted without asking again, in ms; 0 caches nothing. */
  readonly cacheTtlMs: number;
  /** How long an unknown key is remembered as unknown, in ms. @default min(cacheTtlMs, 10_000) */
  readonly negativeCacheTtlMs?: number;
  /** Valid keys cached at once, least recently used evicted. @default 10_000 */
  readonly maxCached?: number;
  /** Unknown keys remembered at once, least recently used evicted. @default 10_000 */
  readonly maxNegativeCached?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

interface Cached {
  readonly principal: Principal;
  readonly until: number;
}

/** The api_keys table (api/migrations). */
export class ApiKeyStore implements KeyVerifier {
  private readonly valid: Lru<string, Cached>;
  /** Unknown (or revoked) digests, until when they are known to be unknown. */
  private readonly unknown: Lru<string, number>;
  private readonly pending = new Map<string, Promise<Principal | undefined>>();
  private readonly clock: () => number;
  private readonly negativeTtlMs: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: ApiKeyStoreOptions = { cacheTtlMs: 30_000 },
  ) {
    this.valid = new Lru(options.maxCached ?? 10_000);
    this.unknown = new Lru(options.maxNegativeCached ?? 10_000);
    this.clock = options.clock ?? Date.now;
    this.negativeTtlMs = options.negativeCacheTtlMs ?? Math.min(options.cacheTtlMs, 10_000);
  }

  /** Creates a key and returns its secret, which is not stored and cannot be shown again. */
  async create(input: {
    role: Role;
    name: string;
    customerId?: string | null;
  }): Promise<{ secret: string; key: ApiKeyRecord }> {
    if (input.role === 'customer' && !input.customerId) throw new Error('a customer key needs a customer id');
    if (input.role !== 'customer' && input.customerId) throw new Error('only customer keys name a customer');
    const secret = generateSecret();
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO api_keys (id, key_hash, prefix, role, customer_id, name)
       VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id, role, customer_id, name, prefix, created_at, revoked_at`,
      [
        randomUUID(),
        hashSecret(secret),
        secret.slice(0, 12),
        input.role,
        input.customerId ?? null,
        input.name,
      ],
    );
    return { secret, key: toRecord(rows[0] as Row) };
  }

  async list(): Promise<ApiKeyRecord[]> {
    const { rows } = await this.pool.query<Row>(
      'SELECT id, role, customer_id, name, prefix, created_at, revoked_at FROM api_keys ORDER BY created_at',
    );
    return rows.map(toRecord);
  }

  /** Revokes a key by id; true if it was active. */
  async revoke(keyId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL',
      [keyId],
    );
    return (rowCount ?? 0) > 0;
  }

  cached(secret: string): Principal | undefined {
    if (!SECRET_PATTERN.test(secret)) return undefined;
    const entry = this.valid.get(hashSecret(secret).toString('base64'));
    return entry && entry.until > this.clock() ? entry.principal : undefined;
  }

  async verify(secret: string): Promise<Principal | undefined> {
    if (!SECRET_PATTERN.test(secret)) return undefined;
    const digest = hashSecret(secret);
    // The digest, not the secret, is what stays in memory.
    const id = digest.toString('base64');
    const now = this.clock();
    const cached = this.valid.get(id);
    if (cached && cached.until > now) return cached.principal;
    const unknownUntil = this.unknown.get(id);
    if (unknownUntil !== undefined && unknownUntil > now) return undefined;
    const inFlight = this.pending.get(id);
    if (inFlight) return inFlight;
    const lookup = this.lookup(id, digest).finally(() => this.pending.delete(id));
    this.pending.set(id, lookup);
    return lookup;
  }

  private async lookup(id: string, digest: Buffer): Promise<Principal | undefined> {
    const { rows } = await this.pool.query<Row>(
      `SELECT id, role, customer_id, name, prefix, created_at, revoked_at
       FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [digest],
    );
    const row = rows[0];
    const now = this.clock();
    if (!row) {
      this.valid.delete(id);
      if (this.negativeTtlMs > 0) this.unknown.set(id, now + this.negativeTtlMs);
      return undefined;
    }
    const principal: Principal = {
      keyId: row.id,
      role: row.role,
      customerId: row.customer_id,
      name: row.name,
    };
    this.unknown.delete(id);
    if (this.options.cacheTtlMs > 0) this.valid.set(id, { principal, until: now + this.options.cacheTtlMs });
    return principal;
  }
}
