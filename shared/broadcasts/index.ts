/**
 * Tier posts: the bot keeps a post with one deep-link button per tier in each channel's open chat
 * (and the donation button in the closed chat), replaced on the owner's schedule, on "broadcast
 * now" and after an edit of what it shows; failures the owner can fix are told once and switch the
 * schedule off after five in a row.
 *
 *   await runTierBroadcasts(deps, []);              // the scheduler's tick: every channel due
 *   await runTierBroadcasts(deps, [channelId]);     // the owner's "broadcast now"
 */
export { type TierBroadcastDeps, type TierBroadcastReport, MAX_CONSECUTIVE_FAILURES, runTierBroadcasts } from './tier-broadcasts.js';
export { type ChannelPostFacts, type ChannelPosts, type ChatPost, composeChannelPosts } from './tier-posts.js';
export { type PostPacer, type PostPacerOptions, MAX_INLINE_RETRY_AFTER_SECONDS, createPostPacer, withFloodControl } from './post-pacing.js';
export { broadcastError } from './errors.js';
export {
  applyBroadcastSetting,
  createBroadcastSchedule,
  recordManualBroadcastRequest,
  requestTierPostRebuild,
  stopDeletedChannelBroadcasts,
} from './schedules.js';
