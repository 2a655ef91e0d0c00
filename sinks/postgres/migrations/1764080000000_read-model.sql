-- Up Migration
-- The operational read model, projected from reservations.events by the postgres sink.
-- Every column is derived from events only (never from the clock of the sink), so replaying the events
-- topic into an empty database yields the same rows. docs/read-model.md describes the tables for readers.

-- btree_gist lets one GiST index hold the resource id (equality) and the period (overlap).
-- It is a trusted extension (PostgreSQL 13+): the database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE resources (
  id text PRIMARY KEY,
  name text,
  description text,
  capacity integer CHECK (capacity >= 0),
  unit_price_minor bigint,
  currency char(3),
  hold_timeout_ms bigint,
  retired boolean GENERATED ALWAYS AS (retired_at IS NOT NULL) STORED,
  retired_at timestamptz,
  retire_reason text,
  -- resourceVersion of the newest event applied; settings come from the newest ResourceUpserted
  version integer NOT NULL,
  settings_version integer,
  created_at timestamptz,
  updated_at timestamptz NOT NULL,
  last_event_id uuid NOT NULL
);

CREATE TABLE customers (
  id text PRIMARY KEY,
  full_name text NOT NULL,
  email text NOT NULL,
  phone text,
  -- decidedAt of the newest event that carried the customer; ties broken by event id
  updated_at timestamptz NOT NULL,
  last_event_id uuid NOT NULL
);

CREATE TABLE reservations (
  id uuid PRIMARY KEY,
  resource_id text NOT NULL,
  customer_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('Pending', 'Confirmed', 'Cancelled', 'Expired', 'Completed')),
  -- reservationVersion of the newest event applied: 1 when held, +1 per transition
  version integer NOT NULL CHECK (version >= 1),
  -- the terms (period, quantity, price) come from the newest ReservationHeld/ReservationReopened;
  -- details_version is that event's version (NULL only while such an event has not been seen yet)
  start_at timestamptz,
  end_at timestamptz,
  period tstzrange GENERATED ALWAYS AS (
    CASE WHEN start_at IS NOT NULL AND end_at IS NOT NULL THEN tstzrange(start_at, end_at, '[)') END
  ) STORED,
  quantity integer CHECK (quantity >= 1),
  unit_price_minor bigint,
  price_minor bigint,
  currency char(3),
  resource_name text,
  hold_expires_at timestamptz,
  details_version integer,
  -- what the newest event of each kind carried, with that event's version (a reservation may be
  -- confirmed, cancelled, reopened and confirmed again)
  paid_price_minor bigint,
  payment_reference text,
  confirmed_at timestamptz,
  confirmed_version integer,
  cancelled_at timestamptz,
  cancel_reason text,
  cancelled_version integer,
  payment_failed_at timestamptz,
  payment_failure_reason text,
  payment_failed_version integer,
  -- terminal events happen once
  expired_at timestamptz,
  completed_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz NOT NULL,
  last_event_id uuid NOT NULL,
  CHECK (start_at IS NULL OR end_at IS NULL OR start_at < end_at)
);

-- "Reservations of a customer", newest first.
CREATE INDEX reservations_customer_idx ON reservations (customer_id, created_at DESC, id);
-- "Reservations of a resource overlapping [from, to)": WHERE resource_id = $1 AND period && tstzrange($2, $3).
-- A btree on (resource_id, start_at) can only bound one end of the range and scans every earlier
-- reservation of the resource; GiST answers the overlap from both ends.
CREATE INDEX reservations_resource_period_idx ON reservations USING gist (resource_id, period);
-- Live holds by expiry, for "holds about to expire" views.
CREATE INDEX reservations_pending_expiry_idx ON reservations (hold_expires_at) WHERE status = 'Pending';

-- Every decision, accepted or refused, by the command that caused it: what the API's `Prefer: wait`
-- and a client polling its command need ("was my request decided, and how?").
CREATE TABLE decisions (
  event_id uuid PRIMARY KEY,
  command_id uuid NOT NULL,
  idempotency_key text,
  event_type text NOT NULL,
  resource_id text NOT NULL,
  reservation_id uuid,
  customer_id text,
  -- for ReservationRejected / ResourceChangeRejected
  rejected boolean NOT NULL,
  reason text,
  detail text,
  -- reservationVersion or resourceVersion after the event, when it changed something
  version integer,
  decided_at timestamptz NOT NULL
);

CREATE INDEX decisions_command_idx ON decisions (command_id);
CREATE INDEX decisions_reservation_idx ON decisions (reservation_id, decided_at) WHERE reservation_id IS NOT NULL;

-- Down Migration
DROP TABLE decisions;
DROP TABLE reservations;
DROP TABLE customers;
DROP TABLE resources;
