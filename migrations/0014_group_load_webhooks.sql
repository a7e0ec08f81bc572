-- The posting group builds webhook outbox events only while its network has a live webhook
-- (docs/performance.md, docs/webhooks.md). ledger_group_load_with_webhooks is ledger_group_load
-- (0013) and, read after it has taken the network's head lock, whether such a webhook exists.
-- A webhook is created under a share lock on the same head row, with its created_at read after
-- that lock (src/webhooks/webhook.repository.ts): a group that holds the head while a webhook
-- is being created has an earlier clock than the webhook's created_at, so none of its events
-- is owed to it; a group that locks the head after the webhook committed sees it here. Events
-- are still written through ledger_events_write, whose check stays the last word.
-- Forward-only: never edit this file after it has landed.

CREATE FUNCTION ledger_group_load_with_webhooks(
  p_network       uuid,
  p_key_api_ids   uuid[],
  p_keys          text[],
  p_account_ids   uuid[],
  p_hold_ids      uuid[],
  p_reverse_ids   uuid[],
  p_sweep_all     boolean,
  p_expired_limit integer,
  OUT loaded         json,
  OUT webhooks_exist boolean
) LANGUAGE plpgsql AS $$
BEGIN
  loaded := ledger_group_load(p_network, p_key_api_ids, p_keys, p_account_ids, p_hold_ids, p_reverse_ids, p_sweep_all, p_expired_limit);
  -- A statement of its own, so its snapshot is taken after the head lock above was granted.
  SELECT EXISTS (SELECT 1 FROM webhooks w WHERE w.network_id = p_network AND w.deleted_at IS NULL) INTO webhooks_exist;
END;
$$;
