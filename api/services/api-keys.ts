/**
 * API keys: random secrets shown once at creation and stored only as their SHA-256 digest.
 *
 * A key is 32 random bytes (256 bits), so a slow password hash (bcrypt, scrypt) would add nothing against
 * guessing and would cost milliseconds on every request; a plain digest, looked up through a unique
 * index, is what the major API providers do for machine-generated keys. Verified keys are cached for a
 * short time (`keyCacheTtlMs`), so a revoked key stops working within that time.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Role } from '../config.ts';

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

/** The api_keys table (api/migrations). */
export class ApiKeyStore implements KeyVerifier {
  private readonly cache = new Map<string, { principal: Principal | undefined; until: number }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: { cacheTtlMs: number; maxCached?: number; clock?: () => number } = {
      cacheTtlMs: 30_000,
    },
  ) {}

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

  async verify(secret: string): Promise<Principal | undefined> {
    if (!SECRET_PATTERN.test(secret)) return undefined;
    const now = (this.options.clock ?? Date.now)();
    const cached = this.cache.get(secret);
    if (cached && cached.until > now) return cached.principal;
    const { rows } = await this.pool.query<Row>(
      `SELECT id, role, customer_id, name, prefix, created_at, revoked_at
       FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hashSecret(secret)],
    );
    const row = rows[0];
    const principal = row
      ? { keyId: row.id, role: row.role, customerId: row.customer_id, name: row.name }
      : undefined;
    if (this.cache.size >= (this.options.maxCached ?? 10_000)) this.cache.clear();
    // Unknown keys are remembered briefly too, so a flood of bad keys does not become a flood of queries.
    this.cache.set(secret, { principal, until: now + this.options.cacheTtlMs });
    return principal;
  }
}
