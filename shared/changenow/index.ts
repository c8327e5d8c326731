/**
 * ChangeNow API v2: the swap provider of instant payouts. `createChangeNowClient` is the adapter; the simulator
 * twin is `startChangeNowSimulator` in `shared/testing/simulators/changenow-simulator.ts`.
 */
export {
  type SwapPair,
  type ChangeNowFlow,
  type ChangeNowMinAmount,
  type ChangeNowEstimate,
  type CreateExchangeInput,
  type ChangeNowExchange,
  type ChangeNowExchangeStatus,
  type ChangeNowClient,
  type ChangeNowClientOptions,
  createChangeNowClient,
} from './changenow-client.js';
export { type ChangeNowStatus, CHANGENOW_STATUSES, isChangeNowStatus, parseChangeNowStatus } from './changenow-status.js';
export { type ChangeNowRejectionCode, CHANGENOW_ERROR_CODES } from './changenow-error.js';
export { canonicalAmount } from './decimal-amount.js';
