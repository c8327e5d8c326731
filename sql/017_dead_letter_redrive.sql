-- Dead letters become actionable: an operator re-drives one (re-publishes it with its original
-- message id, through the outbox) or resolves it with a reason (`npm run dead-letters`).

-- `resolution` says how a letter was closed: 'redriven' (its message is back in the pipeline) or
-- 'resolved' (an operator decided nothing more is to be done; the why is in `resolution_note`).
-- Until now nothing in the code wrote it, so any value there was typed by hand: keep it as the note.
ALTER TABLE dead_letters
  ADD COLUMN resolution_note  text,
  ADD COLUMN resolved_by      text,
  ADD COLUMN redrive_count    integer NOT NULL DEFAULT 0 CHECK (redrive_count >= 0),
  ADD COLUMN last_redriven_at timestamptz,
  ADD COLUMN last_redriven_by text,
  -- A re-driven message that fails again re-opens its record (same source and message id) instead of
  -- being swallowed as a duplicate: this is when that last happened.
  ADD COLUMN reopened_at      timestamptz;
UPDATE dead_letters SET resolution_note = resolution, resolution = 'resolved' WHERE resolution IS NOT NULL;
ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_resolution_check CHECK (resolution IN ('redriven', 'resolved'));
ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_redrive_check
  CHECK ((redrive_count = 0) = (last_redriven_at IS NULL) AND (last_redriven_at IS NULL) = (last_redriven_by IS NULL)
         AND (resolution IS DISTINCT FROM 'redriven' OR redrive_count > 0));

-- A re-drive is an outbox row like any other, except that the relay publishes the dead letter's
-- ORIGINAL id in `pgp_message_id` (`original_message_id`) instead of the row's own `message_id`.
-- `message_id` stays the row's unique identity (one per re-drive, and a uuid, while the original id
-- may be Pub/Sub's numeric one), so re-driving a letter twice adds two rows that publish the same id,
-- and a consumer that had already handled it absorbs the re-drive in handle-once.
ALTER TABLE outbox
  ADD COLUMN dead_letter_id      bigint REFERENCES dead_letters (id),
  ADD COLUMN original_message_id text CHECK (original_message_id <> '');
ALTER TABLE outbox ADD CONSTRAINT outbox_redrive_check CHECK ((dead_letter_id IS NULL) = (original_message_id IS NULL));
CREATE INDEX outbox_dead_letter_idx ON outbox (dead_letter_id) WHERE dead_letter_id IS NOT NULL;
