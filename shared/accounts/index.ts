export {
  type IssuedLinkCode,
  type LinkRefusal,
  type LinkOutcome,
  type LinkCodeDeps,
  LINK_CODE_PATTERN,
  DEFAULT_LINK_CODE_TTL_SECONDS,
  hashLinkCode,
  issueLinkCode,
  redeemLinkCode,
} from './link-codes.js';
