-- Up Migration
-- The API's own tables. Applied by api/migrate.ts with node-pg-migrate into the `api_migrations` table, so
-- they never collide with the read model's migrations.

-- API keys: only the SHA-256 digest of the secret is stored; `prefix` (its first characters) identifies a
-- key in lists without revealing it.
CREATE TABLE api_keys (
  id uuid PRIMARY KEY,
  key_hash bytea NOT NULL UNIQUE,
  prefix text NOT NULL,
  role text NOT NULL CHECK (role IN ('customer', 'producer', 'admin')),
  customer_id text,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  CONSTRAINT api_keys_customer_binding CHECK ((role = 'customer') = (customer_id IS NOT NULL))
);

-- Idempotency-Key: one row per principal and key. `fingerprint` is the digest of the request (method,
-- route, parameters and body); `ids` holds the command and reservation ids assigned on the first attempt, so
-- a retry after an unknown outcome re-sends the very same command and the decider recognises it.
-- `state` is 'pending' while a request holds the key (until `locked_until`) and 'completed' with the stored
-- answer afterwards.
CREATE TABLE api_idempotency_keys (
  principal text NOT NULL,
  idempotency_key text NOT NULL,
  fingerprint bytea NOT NULL,
  ids jsonb NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'completed')),
  locked_until timestamptz,
  status_code integer,
  response_headers jsonb,
  response_body text,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  PRIMARY KEY (principal, idempotency_key)
);
CREATE INDEX api_idempotency_keys_created_at ON api_idempotency_keys (created_at);

-- Down Migration
DROP TABLE api_idempotency_keys;
DROP TABLE api_keys;
