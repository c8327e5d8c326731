-- A claim on an invite link's DM before it is sent (as sql/034 for owner notifications). Two
-- deliveries of one invite-requested message could both send the subscriber the link. The delivery
-- that stores the link, or takes over a claim that ran out, holds it until `send_claimed_until`; any
-- other is told to retry and then finds the link sent. A failed DM releases the claim.
ALTER TABLE invite_links ADD COLUMN send_claimed_until timestamptz;
