-- Up Migration
-- Durable state of the payment and notification sinks (sinks/payment, sinks/notification). Unlike the read
-- model, these tables are NOT projections of the events: they record what was done to the outside world
-- (money moved, mail sent), which replaying the events cannot tell. Never truncate them to rebuild the read
-- model: a payment sink without its ledger or a notification sink without its record would act again.

-- One row per operation on the payment gateway, keyed by the idempotency key sent with it:
--   charge  slotstream:charge:<reservationId>:<holdVersion>   (holdVersion = reservationVersion of the
--           ReservationHeld or ReservationReopened that started the hold)
--   refund  slotstream:refund:<reservationId>:<holdVersion>   (refunds that charge, at most once)
CREATE TABLE payment_operations (
  idempotency_key text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('charge', 'refund')),
  reservation_id uuid NOT NULL,
  resource_id text NOT NULL,
  customer_id text NOT NULL,
  hold_version integer NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
  currency char(3) NOT NULL,
  -- pending: not known to be final (never tried, or tried with an unknown outcome: retried with the same key)
  -- succeeded / failed: the gateway's final answer; skipped: never sent to the gateway (hold over first)
  status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'skipped')),
  -- calls made to the gateway with this key (a pending row with attempts = 0 was never sent)
  attempts integer NOT NULL DEFAULT 0,
  gateway_reference text,
  -- what the gateway says it captured (a charge) or refunded (a refund)
  settled_minor bigint,
  settled_currency char(3),
  failure_code text,
  failure_reason text,
  -- the event that asked for the operation
  cause_event_id uuid NOT NULL,
  -- charges: the RecordPaymentResult command (deterministic id) and when the broker acknowledged it
  result_command_id uuid,
  result_recorded_at timestamptz,
  -- charges: the ReservationConfirmed that this payment confirmed (a refund is due if it is cancelled)
  confirmed_event_id uuid,
  -- refunds: the charge refunded, and why
  refund_of text REFERENCES payment_operations (idempotency_key),
  refund_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX payment_operations_reservation_idx ON payment_operations (reservation_id, kind);
CREATE UNIQUE INDEX payment_operations_result_command_idx ON payment_operations (result_command_id)
  WHERE result_command_id IS NOT NULL;

-- What the notification sink needs to write to a customer about a reservation, taken from the newest
-- ReservationHeld / ReservationReopened (later events carry only ids). Moves only forward (version).
CREATE TABLE notification_contacts (
  reservation_id uuid PRIMARY KEY,
  customer_id text NOT NULL,
  full_name text NOT NULL,
  email text NOT NULL,
  resource_id text NOT NULL,
  resource_name text NOT NULL,
  start_at timestamptz NOT NULL,
  end_at timestamptz NOT NULL,
  quantity integer NOT NULL,
  price_minor bigint NOT NULL,
  currency char(3) NOT NULL,
  hold_expires_at timestamptz NOT NULL,
  version integer NOT NULL,
  updated_at timestamptz NOT NULL
);

-- "Where do I write to this customer?" for a refused request, which names only the customer.
CREATE INDEX notification_contacts_customer_idx ON notification_contacts (customer_id, updated_at DESC);

-- Mail sent, one row per event: checked before sending, written after (at most once as far as we can
-- control it; the event id is also the Message-ID, so a mail client drops a copy sent again after a crash
-- between the two).
CREATE TABLE sent_notifications (
  event_id uuid PRIMARY KEY,
  event_type text NOT NULL,
  reservation_id uuid NOT NULL,
  customer_id text NOT NULL,
  recipient text NOT NULL,
  subject text NOT NULL,
  message_id text NOT NULL,
  smtp_response text,
  sent_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sent_notifications_reservation_idx ON sent_notifications (reservation_id, sent_at);

-- Down Migration
DROP TABLE sent_notifications;
DROP TABLE notification_contacts;
DROP TABLE payment_operations;
