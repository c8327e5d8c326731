import { chainError } from './errors.js';

/**
 * The lifecycle of a payout's signed transfer, the same graph as `chain_transfer_status_can_advance`
 * in SQL (sql/008; a test walks both): `signed` (stored before any broadcast) → `broadcast` →
 * `confirmed` or `failed` (mined and reverted). A transfer never goes back to a state that could
 * sign or send another transaction; a replacement (same nonce) keeps the row in `broadcast`.
 */
export const CHAIN_TRANSFER_STATUSES = ['signed', 'broadcast', 'confirmed', 'failed'] as const;
export type ChainTransferStatus = (typeof CHAIN_TRANSFER_STATUSES)[number];

export const CHAIN_TRANSFER_TRANSITIONS = {
  signed: ['broadcast'],
  broadcast: ['confirmed', 'failed'],
  confirmed: [],
  failed: [],
} as const satisfies Record<ChainTransferStatus, readonly ChainTransferStatus[]>;

export function canTransitionChainTransfer(from: ChainTransferStatus, to: ChainTransferStatus): boolean {
  return (CHAIN_TRANSFER_TRANSITIONS[from] as readonly ChainTransferStatus[]).includes(to);
}

/** Checked before a conditional UPDATE moves a transfer (like `transitionPayout`): a move the table lacks is a bug. */
export function assertChainTransferTransition(from: ChainTransferStatus, to: ChainTransferStatus): void {
  if (!canTransitionChainTransfer(from, to)) {
    throw chainError('chain_transfer_transition_refused', `A chain transfer cannot move from ${from} to ${to}.`, { from, to });
  }
}
