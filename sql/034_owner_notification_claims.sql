-- A claim on an owner notification before its DM is sent. Two deliveries of one notify-owner message
-- at the same moment (Pub/Sub delivers at least once) both found the row pending and both sent the
-- DM. Now the delivery that creates the row, or takes over one whose claim ran out (a sender that
-- stopped mid-way), holds it until `claimed_until`; any other is told to retry, and by then the
-- notification is sent. A transient Telegram failure releases the claim, so the retry sends at once.
ALTER TABLE owner_notifications ADD COLUMN claimed_until timestamptz;
