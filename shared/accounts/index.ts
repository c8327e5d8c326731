/**
 * Dashboard accounts: sign-up and email verification, login sessions (JWT access tokens, rotating
 * refresh-token families), password reset and change, email change, deletion, Telegram link codes,
 * and the account mails. The HTTP surface is `shared/dashboard`; mails go out through the
 * `account-mail-requested` topic (`deliverAccountMail`).
 */
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
export { type AccountDeps, type RequestOrigin } from './account-deps.js';
export {
  type AccessTokenSettings,
  type AccessTokenSubject,
  type IssuedAccessToken,
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
  accessTokenSettingsOf,
  signAccessToken,
  verifyAccessToken,
} from './access-tokens.js';
export { DEFAULT_SESSION_TTL_SECONDS, isSessionActive } from './sessions.js';
export { EMAIL_TOKEN_TTL_SECONDS } from './email-tokens.js';
export { type ScryptParameters, DEFAULT_SCRYPT_PARAMETERS, hashPassword, verifyPassword } from './passwords.js';
export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, passwordProblem } from './password-policy.js';
export { signUp, verifyEmail, requestVerificationMail } from './signup.js';
export { type SessionTokens, type LoginTokens, logIn, refreshSession, logOut } from './login.js';
export { PASSWORD_FAILURE_LIMIT, PASSWORD_FAILURE_WINDOW_SECONDS } from './password-failures.js';
export { KNOWN_IP_TTL_SECONDS, UNRECOGNISED_FAILURE_LIMIT, UNRECOGNISED_FAILURE_WINDOW_SECONDS } from './login-address.js';
export { type IssuedDeviceToken, DEVICE_TOKEN_TTL_SECONDS } from './device-tokens.js';
export { confirmPasswordOfAccount } from './password-confirmation.js';
export { RESET_MAILS_PER_ADDRESS, RESET_REQUESTS_PER_CLIENT, requestPasswordReset, resetPassword, changePassword } from './password-changes.js';
export {
  type AccountProfile,
  TELEGRAM_LINK_TTL_SECONDS,
  requestEmailChange,
  confirmEmailChange,
  cancelEmailChange,
  deleteAccount,
  retrieveAccountProfile,
  createTelegramLinkCode,
} from './account-settings.js';
export { accountEmailOf, enqueueAccountMail, findAccountByEmail, findActiveAccountIdByTelegramUser, sealAccountEmail } from './account-records.js';
export {
  type ActivityEntry,
  type ActivityPage,
  type SessionView,
  DEFAULT_ACTIVITY_PAGE_SIZE,
  listActivity,
  listSessions,
  revokeOtherSessions,
  revokeOwnSession,
} from './account-security.js';
export { type AccountMailDeps, composeAccountMails, sendAccountMails, deliverAccountMail } from './account-mail.js';
export { accountSealedTables } from './sealed-fields.js';
