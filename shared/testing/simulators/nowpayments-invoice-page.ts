import type { IpnDelivery, SimulatedInvoice, SimulatedPayment } from './nowpayments-simulator.js';

/** What the simulator's hosted invoice page shows. */
export interface InvoicePageData {
  invoice: SimulatedInvoice;
  payments: SimulatedPayment[];
  deliveries: IpnDelivery[];
  /** Where an ETH payment would go. */
  payAddress: string;
  /** The price in ETH at the simulator's rate. */
  ethAmount: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch);
}

function button(invoiceId: string, label: string, fraction: string): string {
  return `<form method="post" action="/sandbox/invoices/${escapeHtml(invoiceId)}/pay">
      <input type="hidden" name="fraction" value="${escapeHtml(fraction)}"><button type="submit">${escapeHtml(label)}</button>
    </form>`;
}

/**
 * The NowPayments simulator's stand-in for the hosted invoice page: plain HTML, no script, no external assets. Its
 * buttons POST forms to `/sandbox/invoices/:id/pay` (field `fraction`) and `/sandbox/invoices/:id/expire`; the
 * simulator then redirects back here, where each payment's status and IPN deliveries are listed.
 */
export function renderInvoicePage(data: InvoicePageData): string {
  const { invoice } = data;
  const id = escapeHtml(invoice.id);
  const rows = data.payments
    .map((payment) => {
      const sent = data.deliveries
        .filter((delivery) => delivery.paymentId === payment.paymentId)
        .map((delivery) => `${escapeHtml(delivery.status)} → ${delivery.httpStatus === 0 ? 'unreachable' : delivery.httpStatus}`)
        .join('<br>');
      return `<tr><td>${escapeHtml(payment.paymentId)}</td><td><strong>${escapeHtml(payment.status)}</strong></td>
        <td>${escapeHtml(payment.actuallyPaid)} / ${escapeHtml(payment.payAmount)} ${escapeHtml(payment.payCurrency.toUpperCase())}</td>
        <td>${escapeHtml(payment.outcomeAmount)} ${escapeHtml(payment.outcomeCurrency.toUpperCase())}</td><td>${sent || '—'}</td></tr>`;
    })
    .join('\n');
  const back = [
    invoice.successUrl ? `<a href="${escapeHtml(invoice.successUrl)}">Back to the shop (success_url)</a>` : '',
    invoice.cancelUrl ? `<a href="${escapeHtml(invoice.cancelUrl)}">Cancel (cancel_url)</a>` : '',
  ]
    .filter(Boolean)
    .join(' · ');

  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Invoice ${id} · NowPayments simulator</title>
  <style>
    body { font-family: system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
    .price { font-size: 2rem; margin: 0.5rem 0; }
    code { background: #f2f2f2; padding: 0.1rem 0.3rem; word-break: break-all; }
    .actions { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 1rem 0; }
    button { font-size: 1rem; padding: 0.5rem 1rem; cursor: pointer; }
    table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
    td, th { border-bottom: 1px solid #ddd; padding: 0.4rem; text-align: left; vertical-align: top; }
    .note { color: #666; font-size: 0.85rem; }
  </style>
</head>
<body>
  <p class="note">NowPayments simulator — no real money moves here.</p>
  <h1>Invoice ${id}</h1>
  <p>${escapeHtml(invoice.orderDescription ?? '')}</p>
  <p class="price">${escapeHtml(invoice.priceAmount)} ${escapeHtml(invoice.priceCurrency.toUpperCase())}</p>
  <p>Send <strong>${escapeHtml(data.ethAmount)} ETH</strong> to <code>${escapeHtml(data.payAddress)}</code></p>
  <p class="note">Order ${escapeHtml(invoice.orderId ?? '—')}</p>
  <div class="actions">
    ${button(invoice.id, 'Pay in full', '1')}
    ${button(invoice.id, 'Pay half', '0.5')}
    ${button(invoice.id, 'Overpay 20 %', '1.2')}
    <form method="post" action="/sandbox/invoices/${id}/expire"><button type="submit">Let it expire</button></form>
  </div>
  <h2>Payments</h2>
  ${
    data.payments.length === 0
      ? '<p>No payment yet.</p>'
      : `<table><thead><tr><th>Payment</th><th>Status</th><th>Paid</th><th>Outcome</th><th>IPNs sent</th></tr></thead><tbody>
${rows}
</tbody></table>`
  }
  <p>${back}</p>
</body>
</html>
`;
}
