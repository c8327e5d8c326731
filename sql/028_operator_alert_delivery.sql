-- Operator alerts reach the operator's Telegram chat (OPERATOR_ALERT_CHAT_ID): raiseOperatorAlert
-- queues `operator-alert-requested` in the alert's transaction, and notify-operator records here
-- what came of it. A delivery claims the alert before it calls Telegram (notify_claimed_until, a
-- lease; after a 429 the moment Telegram allows the next try), so a redelivered or concurrent
-- message sends at most once; notified_at marks it sent for good.
ALTER TABLE operator_alerts ADD COLUMN notify_claimed_until timestamptz;
ALTER TABLE operator_alerts ADD COLUMN notified_at timestamptz;
ALTER TABLE operator_alerts ADD COLUMN telegram_message_id bigint;
-- The last refusal (a Telegram error code such as telegram_bad_request for "chat not found"); cleared once sent.
ALTER TABLE operator_alerts ADD COLUMN notify_error text CHECK (length(notify_error) BETWEEN 1 AND 200);
