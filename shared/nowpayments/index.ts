/**
 * NowPayments, our pay-in provider: the API client (invoices, payment lookups), the IPN signature check and its
 * signer, and the parser that turns an IPN body or API answer into a `NowPaymentsPayment` with exact decimal amounts.
 *
 *   const verification = verifyIpnSignature({ rawBody, signature: req.get('x-nowpayments-sig'), secret });
 *   if (verification.isValid) applyPaymentUpdate(tx, deps, parseNowPaymentsPayment(verification.payload));
 *
 * The simulator speaking the same HTTP API lives in `shared/testing/simulators/nowpayments-simulator.ts`.
 */
export {
  type CreateInvoiceInput,
  type NowPaymentsInvoice,
  type NowPaymentsClient,
  type NowPaymentsClientOptions,
  createNowPaymentsClient,
} from './nowpayments-client.js';
export {
  type NowPaymentsStatus,
  type NowPaymentsPayment,
  NOWPAYMENTS_STATUSES,
  isNowPaymentsStatus,
  parseNowPaymentsPayment,
} from './nowpayments-payment.js';
export { type IpnAuthentication, type IpnVerification, IPN_SIGNATURE_HEADER, authenticateIpnBody, readIpnPayloadExactly, verifyIpnSignature, signIpnPayload } from './ipn-signature.js';
export { parseJsonPreservingNumbers } from './json-preserving-numbers.js';
