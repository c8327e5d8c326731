/**
 * Authentic NowPayments IPNs for load: the fields and JSON types of a real `finished` capture
 * (sorted keys, amounts as JSON numbers; the same shape tests/e2e/ipn.test.ts sends), signed the
 * way NowPayments signs them (HMAC-SHA512 over the sorted JSON, shared/nowpayments).
 */
import { IPN_SIGNATURE_HEADER, signIpnPayload } from '../../shared/nowpayments/index.js';

export interface SignedIpn {
  /** NowPayments' payment_id, as decimal text. */
  providerPaymentId: string;
  /** The request body exactly as sent. */
  body: string;
  /** Request headers: content type and `x-nowpayments-sig`. */
  headers: Record<string, string>;
}

/** Provider ids far above the simulator's (4.0e9 … 4.9e9) and the e2e tests' (9.1e9 …). */
let nextProviderId = 9_500_000_000;

/** A `finished`, fully paid IPN for `orderId` (a checkout's public id), with a provider payment id never used before in this process. */
export function signedFinishedIpn(orderId: string, secret: string): SignedIpn {
  nextProviderId += 3;
  const paymentId = String(nextProviderId);
  // Keys in sorted order, numbers written as NowPayments writes them (never through a float).
  const fields: Array<[string, string]> = [
    ['actually_paid', '0.00666334'],
    ['actually_paid_at_fiat', '19.99'],
    ['invoice_id', String(nextProviderId + 1)],
    ['order_description', JSON.stringify('Bench Club: 30 days')],
    ['order_id', JSON.stringify(orderId)],
    ['outcome_amount', '0.00663002'],
    ['outcome_currency', JSON.stringify('eth')],
    ['pay_address', JSON.stringify('0x1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c')],
    ['pay_amount', '0.00666334'],
    ['pay_currency', JSON.stringify('eth')],
    ['payment_id', paymentId],
    ['payment_status', JSON.stringify('finished')],
    ['price_amount', '19.99'],
    ['price_currency', JSON.stringify('usd')],
    ['purchase_id', JSON.stringify(String(nextProviderId + 2))],
    ['updated_at', String(Date.now())],
  ];
  const body = `{${fields.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
  return {
    providerPaymentId: paymentId,
    body,
    headers: { 'content-type': 'application/json', [IPN_SIGNATURE_HEADER]: signIpnPayload(JSON.parse(body) as Record<string, unknown>, secret) },
  };
}
