export { type OutcomeAmount, outcomeAmountOf } from './outcome-asset.js';
export { type PaymentUpdateResult, type PaymentUpdateDeps, applyPaymentUpdate, isSettledStatus } from './payment-updates.js';
export { type IpnDeps, type IpnFirstLook, type IpnRequest, MAX_IPN_BODY_BYTES, lookForRepeatedIpn, receiveIpn, keptIpnHeaders } from './ipn.js';
export { type SettlementDeps, type SettlementResult, settlePayment } from './settlement.js';
export { type ReconcileDeps, type PaymentReconcileReport, reconcilePayments } from './reconcile.js';
export { type ReconciliationDeps, runReconciliation } from './reconciliation.js';
export { type PaymentStatus, PAYMENT_STATUSES, PAYMENT_TRANSITIONS, canTransitionPayment } from './payment-status.js';
