-- Nothing sits still unnoticed. Every non-terminal state has an owner that re-drives a row that sat
-- too long (shared/watchdog lists them), and one alert per row and episode once it passes its age
-- limit. This migration adds what the owners need to find their rows and to alert once.

-- One alert per subject and episode (e.g. the state a row is in and since when): a sweep that runs
-- every few minutes raises it once, however long the row stays stuck.
CREATE TABLE operator_alerts (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- What is wrong, dot.case ('stuck.payouts.requested'); an open set, named by the code that raises it.
  alert        text NOT NULL CHECK (alert ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  subject_type text NOT NULL CHECK (subject_type ~ '^[a-z][a-z0-9_]*$'),
  subject_id   text NOT NULL CHECK (length(subject_id) BETWEEN 1 AND 200),
  episode      text NOT NULL CHECK (length(episode) BETWEEN 1 AND 200),
  message      text NOT NULL CHECK (length(message) BETWEEN 1 AND 1000),
  details      jsonb NOT NULL DEFAULT '{}'::jsonb,
  raised_at    timestamptz NOT NULL,
  UNIQUE (alert, subject_type, subject_id, episode)
);
CREATE INDEX operator_alerts_raised_idx ON operator_alerts (raised_at);

-- Payouts: when track-payouts looks at the payout next (tracking, re-drive, re-queue), so that one
-- tick pages through every due payout, oldest check first, instead of the same first hundred.
-- A state change makes the payout due at once (trigger below); the sweep then pushes it out.
ALTER TABLE payouts ADD COLUMN next_check_at timestamptz;
-- How often quote-payout deferred this payout: a deferral has an end (shared/payouts/quote.ts).
ALTER TABLE payouts ADD COLUMN deferral_count integer NOT NULL DEFAULT 0 CHECK (deferral_count >= 0);
-- How often its stage message was re-published because it sat in requested/quoted/swap_created.
ALTER TABLE payouts ADD COLUMN redrive_count integer NOT NULL DEFAULT 0 CHECK (redrive_count >= 0);
ALTER TABLE payouts ADD COLUMN last_redriven_at timestamptz;
UPDATE payouts SET next_check_at = state_changed_at WHERE state NOT IN ('completed', 'failed', 'refunded', 'cancelled');
ALTER TABLE payouts ADD CONSTRAINT payouts_next_check_check
  CHECK ((next_check_at IS NULL) = (state IN ('completed', 'failed', 'refunded', 'cancelled')));
CREATE INDEX payouts_next_check_idx ON payouts (next_check_at) WHERE next_check_at IS NOT NULL;

CREATE FUNCTION payouts_schedule_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state THEN
    NEW.next_check_at := CASE WHEN NEW.state IN ('completed', 'failed', 'refunded', 'cancelled') THEN NULL ELSE NEW.state_changed_at END;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER payouts_schedule_check BEFORE INSERT OR UPDATE ON payouts FOR EACH ROW EXECUTE FUNCTION payouts_schedule_check();

-- Swaps: when the exchange entered its current status, so an exchange held in 'verifying' (an AML
-- hold) or never seeing our deposit ('waiting') can be timed.
ALTER TABLE swaps ADD COLUMN status_changed_at timestamptz;
UPDATE swaps SET status_changed_at = coalesce(status_checked_at, created_at);
ALTER TABLE swaps ALTER COLUMN status_changed_at SET NOT NULL;
-- Set from the times the writer gives (its injected clock), never from the server's clock.
CREATE FUNCTION swaps_track_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.status_changed_at := coalesce(NEW.status_changed_at, NEW.status_checked_at, NEW.created_at);
  ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
    NEW.status_changed_at := coalesce(NEW.status_checked_at, NEW.updated_at);
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER swaps_track_status_change BEFORE INSERT OR UPDATE ON swaps FOR EACH ROW EXECUTE FUNCTION swaps_track_status_change();

-- Outbox: a stage message re-published by a sweep (same row, same message id, so consumers that
-- de-duplicate on it still apply it once) records how often and when.
ALTER TABLE outbox ADD COLUMN republish_count integer NOT NULL DEFAULT 0 CHECK (republish_count >= 0);
ALTER TABLE outbox ADD COLUMN last_republished_at timestamptz;
