-- Recent events that a burst rule counts (IPN signature failures, login failures per network, failed
-- payments per channel), written where each event happens (shared/watchdog/bursts.ts). A sliding
-- window is a count of rows newer than its start, shared by every function instance; rows older
-- than the window are pruned as new ones arrive. Nothing personal is kept: `actor_key` is a digest
-- (of the address a login tried) or a row id (the payment), never an email.
CREATE TABLE burst_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The alert the rule raises, dot.case ('auth.login_failures_burst').
  rule        text NOT NULL CHECK (rule ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  -- What the rule counts per: 'nowpayments-ipn', a network ('203.0.113.0/24'), a channel id.
  subject_id  text NOT NULL CHECK (length(subject_id) BETWEEN 1 AND 200),
  -- Who or what the event was about, for rules that count distinct ones; null otherwise.
  actor_key   text CHECK (length(actor_key) BETWEEN 1 AND 200),
  occurred_at timestamptz NOT NULL
);
CREATE INDEX burst_events_window_idx ON burst_events (rule, subject_id, occurred_at);
CREATE INDEX burst_events_prune_idx ON burst_events (rule, occurred_at);
