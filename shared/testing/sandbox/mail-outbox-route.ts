import type { RequestListener } from 'node:http';
import type { MailOutbox } from '../../mail/index.js';

/**
 * `GET /mail` on the local runtime: the sandbox outbox as JSON, newest first, so verification and
 * reset links can be followed without a mail server. `?to=<address>` filters by recipient.
 */
export function mailOutboxRoute(outbox: MailOutbox): RequestListener {
  return (request, response) => {
    if (request.method !== 'GET') {
      response.writeHead(405, { 'content-type': 'application/json', allow: 'GET' });
      response.end(JSON.stringify({ error: { code: 'method_not_allowed', message: 'Use GET' } }));
      return;
    }
    const to = new URL(request.url ?? '/', 'http://localhost').searchParams.get('to')?.toLowerCase();
    const mails = outbox
      .list()
      .filter((mail) => !to || mail.to.toLowerCase() === to)
      .reverse()
      .map((mail) => ({ messageId: mail.messageId, sentAt: mail.sentAt.toISOString(), to: mail.to, subject: mail.subject, text: mail.text }));
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    response.end(JSON.stringify({ mails }, null, 2));
  };
}
