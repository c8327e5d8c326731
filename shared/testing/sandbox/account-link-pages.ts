import type { RequestListener } from 'node:http';

/**
 * The pages behind the links in account mails (`/verify-email`, `/reset-password`, `/confirm-email`,
 * token in the `#fragment`), for the local runtime: the dashboard SPA serves them in production. Each
 * reads the token from the fragment (never sent to a server) and posts it to the dashboard API on
 * the same origin; `/<page>/page.js` is the script (no inline script, so a strict CSP holds).
 */
const PAGES: Record<string, { title: string; action: string; endpoint: string; asksPassword: boolean; done: string }> = {
  'verify-email': {
    title: 'Verify your email address',
    action: 'Verify',
    endpoint: '/auth/verify-email',
    asksPassword: false,
    done: 'Your address is verified. You can close this page.',
  },
  'reset-password': {
    title: 'Choose a new password',
    action: 'Set password',
    endpoint: '/auth/reset-password',
    asksPassword: true,
    done: 'Your password is changed and every session was ended. Log in with the new password.',
  },
  'confirm-email': {
    title: 'Confirm your new email address',
    action: 'Confirm',
    endpoint: '/auth/confirm-email-change',
    asksPassword: false,
    done: 'The account now uses this address. Log in again.',
  },
};

const POLICY = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function html(name: string, page: (typeof PAGES)[string]): string {
  const password = page.asksPassword
    ? '<label>New password (at least 10 characters) <input id="password" type="password" autocomplete="new-password" minlength="10" required></label>'
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${page.title} · PayGatePrime sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto">
<h1>${page.title}</h1>
<form id="form">${password}<button type="submit">${page.action}</button></form>
<p id="result" role="status"></p>
<script src="/${name}/page.js"></script>
</body></html>`;
}

function script(page: (typeof PAGES)[string], apiBase: string): string {
  return `'use strict';
const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
const result = document.getElementById('result');
if (!token) result.textContent = 'This link has no token: open the link from the mail as it is.';
document.getElementById('form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = { token };
  const password = document.getElementById('password');
  if (password) body.password = password.value;
  result.textContent = 'Sending…';
  try {
    const response = await fetch(${JSON.stringify(`${apiBase}${page.endpoint}`)}, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    if (response.ok) { result.textContent = ${JSON.stringify(page.done)}; return; }
    const answer = await response.json().catch(() => ({}));
    result.textContent = (answer.error && answer.error.message) || 'That did not work (' + response.status + ').';
  } catch {
    result.textContent = 'The gateway did not answer.';
  }
});
`;
}

/** Routes for the local function host, keyed by the first path segment. */
export function accountLinkPageRoutes(apiBase = '/dashboard-api/api/v1'): Record<string, RequestListener> {
  return Object.fromEntries(
    Object.entries(PAGES).map(([name, page]) => [
      name,
      ((request, response) => {
        const path = new URL(request.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
        if (request.method !== 'GET') {
          response.writeHead(405, { allow: 'GET' }).end();
        } else if (path === `/${name}`) {
          response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': POLICY, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
          response.end(html(name, page));
        } else if (path === `/${name}/page.js`) {
          response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
          response.end(script(page, apiBase));
        } else {
          response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
        }
      }) satisfies RequestListener,
    ]),
  );
}
