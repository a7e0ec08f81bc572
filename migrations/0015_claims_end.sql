-- Claims end by themselves (SPEC B.1): an exchange recorded by its provider, a hold on the
-- receiver's hours awaiting the receiver, now also ends EXPIRED (its hold expired,
-- EXCHANGE_CLAIM_TTL_DAYS after it was recorded) or WITHDRAWN (its provider took it back).
-- Every statement may run again harmlessly.

ALTER TABLE exchanges DROP CONSTRAINT IF EXISTS exchanges_status_check;
ALTER TABLE exchanges ADD CONSTRAINT exchanges_status_check
  CHECK (status IN ('PENDING', 'CONFIRMED', 'DISPUTED', 'EXPIRED', 'WITHDRAWN'));

-- A provider account's pending claims, counted (up to MAX_PENDING_CLAIMS) at every new claim.
CREATE INDEX IF NOT EXISTS exchanges_pending_provider ON exchanges (network_id, provider_account_id) WHERE status = 'PENDING';

-- Claims pending at the upgrade had no deadline: they count from the upgrade, with the default
-- EXCHANGE_CLAIM_TTL_DAYS of 14 days (a migration cannot read the service's configuration), by
-- the database's clock as every hold expiry is.
UPDATE holds h
   SET expires_at = clock_timestamp() + interval '14 days'
  FROM exchanges e
 WHERE e.network_id = h.network_id AND e.hold_id = h.id AND e.status = 'PENDING'
   AND h.kind = 'EXCHANGE' AND h.status = 'PENDING' AND h.expires_at IS NULL;
