-- Up Migration
-- The payment ledger knows which payment results were decided (sinks/payment/reconciler.ts).
--
-- A result the broker acknowledged is not necessarily on the commands topic: a Kafka client can be told
-- "written" for a write that never happened (kafkajs re-using sequence numbers after an
-- OUT_OF_ORDER_SEQUENCE_NUMBER error: the broker acknowledged a later batch as a "duplicate" of an earlier
-- one). So the ledger records, besides "the broker acknowledged the result" (result_recorded_at), "the
-- decider decided it" (result_decided_at): the payment sink sets it when it reads, on the events topic, the
-- decision whose causationCommandId is the result's command id. A charge with a result recorded long ago
-- and no decision is sent again under the same command id by the reconciler.

ALTER TABLE payment_operations
  -- charges: the decision about the RecordPaymentResult command, as the payment sink read it
  --   confirmed       ReservationConfirmed
  --   payment_failed  ReservationPaymentFailed
  --   rejected        ReservationRejected (any reason but DUPLICATE)
  --   duplicate       ReservationRejected DUPLICATE: decided before, but that decision was never read here;
  --                   the reconciler looks for it on the events topic (a real decision replaces this one)
  ADD COLUMN result_decided_at timestamptz,
  ADD COLUMN result_decision text
    CHECK (result_decision IN ('confirmed', 'payment_failed', 'rejected', 'duplicate')),
  ADD COLUMN result_decision_event_id uuid,
  -- charges: how often the reconciler sent the result again, and when it last did
  ADD COLUMN result_resends integer NOT NULL DEFAULT 0,
  ADD COLUMN result_resent_at timestamptz,
  -- the correlation id of the event that asked for the operation (a result sent again carries it too)
  ADD COLUMN correlation_id text;

-- What the sink already knew before this migration: a charge that confirmed its reservation, or was
-- refunded (a refund needs a refusal of its result, or a confirmation and a cancellation), was decided.
-- Anything else is sent again once by the reconciler; the decider answers a result it decided before
-- with DUPLICATE, which changes nothing.
UPDATE payment_operations
   SET result_decided_at = updated_at, result_decision = 'confirmed', result_decision_event_id = confirmed_event_id
 WHERE kind = 'charge' AND confirmed_event_id IS NOT NULL;

UPDATE payment_operations AS c
   SET result_decided_at = r.created_at, result_decision = 'rejected', result_decision_event_id = r.cause_event_id
  FROM payment_operations AS r
 WHERE r.refund_of = c.idempotency_key AND c.kind = 'charge' AND c.result_decided_at IS NULL;

-- The reconciler's question: settled charges without a decision, oldest send first. Decided rows leave
-- the index, so it stays as small as the number of results in flight.
CREATE INDEX payment_operations_undecided_idx
  ON payment_operations ((COALESCE(result_resent_at, result_recorded_at, updated_at)))
  WHERE kind = 'charge' AND result_decided_at IS NULL AND status IN ('succeeded', 'failed');

-- Charges whose only known decision is a DUPLICATE (the original one is looked for on the events topic).
CREATE INDEX payment_operations_duplicate_decision_idx
  ON payment_operations (result_decided_at)
  WHERE result_decision = 'duplicate';

-- Down Migration
DROP INDEX payment_operations_duplicate_decision_idx;
DROP INDEX payment_operations_undecided_idx;
ALTER TABLE payment_operations
  DROP COLUMN correlation_id,
  DROP COLUMN result_resent_at,
  DROP COLUMN result_resends,
  DROP COLUMN result_decision_event_id,
  DROP COLUMN result_decision,
  DROP COLUMN result_decided_at;
