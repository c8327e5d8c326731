// The sandbox page: play a subscriber in a simulated Telegram chat, pay the simulated NowPayments
// invoice, join with the invite, and watch the system's view update every second. Plain DOM only:
// every piece of data is set as text (or copied tag by tag from the bot's HTML), never as markup.

const API = '/sandbox/api';
const userId = Number.parseInt(new URLSearchParams(location.search).get('user') ?? '1001', 10);
const INVITE_LINK = /https:\/\/t\.me\/\+[A-Za-z0-9_-]+/;
const INVOICE_URL = /\/invoice\/[^/?#]+/;
/** What this person sent, placed after the bot message that was last when they sent it. */
const sent = [];
const lastRendered = new Map();
let lastBotMessageId = 0;

async function call(method, path, body) {
  const response = await fetch(`${API}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error?.message ?? answer.description ?? `HTTP ${response.status}`);
  return answer;
}

/** `el('p', { className: 'x', text: 'hi' }, child…)`: text and attributes only, never HTML. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'className') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child);
  return node;
}

const ALLOWED_TAGS = new Set(['B', 'STRONG', 'I', 'EM', 'U', 'S', 'CODE', 'PRE', 'BLOCKQUOTE']);

/** Telegram's HTML subset as DOM: allowed tags are rebuilt, everything else becomes its text. */
function telegramHtml(text, parseMode) {
  const fragment = document.createDocumentFragment();
  if (parseMode !== 'HTML') {
    fragment.append(text);
    return fragment;
  }
  const parsed = new DOMParser().parseFromString(`<body>${text}</body>`, 'text/html');
  const copy = (source, target) => {
    for (const node of source.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) target.append(node.textContent ?? '');
      else if (node.nodeType === Node.ELEMENT_NODE) {
        const tag = node.tagName;
        if (tag === 'A') {
          const link = el('span', { className: 'link' });
          copy(node, link);
          target.append(link);
        } else if (ALLOWED_TAGS.has(tag)) {
          const element = document.createElement(tag.toLowerCase());
          copy(node, element);
          target.append(element);
        } else copy(node, target);
      }
    }
  };
  copy(parsed.body, fragment);
  return fragment;
}

function note(text) {
  sent.push({ afterId: lastBotMessageId, text, isNote: true });
  void refresh();
}

async function sendText(text) {
  sent.push({ afterId: lastBotMessageId, text });
  renderChat(lastMessages);
  try {
    await call('POST', `/telegram/users/${userId}/messages`, { text });
  } catch (error) {
    note(`Could not send: ${error.message}`);
  }
  await refresh();
}

async function join(inviteLink) {
  try {
    const result = await call('POST', `/telegram/users/${userId}/joins`, { inviteLink });
    note(result.joined ? 'You joined the channel.' : `Telegram refused the link: ${result.reason ?? 'unknown reason'}.`);
  } catch (error) {
    note(`Could not join: ${error.message}`);
  }
}

/** Only http(s) links are followed or framed: a `javascript:` URL in a button must not run. */
const isWebUrl = (url) => typeof url === 'string' && /^https?:\/\//i.test(url);

function openInvoice(url) {
  if (!isWebUrl(url)) return;
  const frame = document.getElementById('invoice-frame');
  frame.hidden = false;
  frame.src = url;
  document.getElementById('invoice-hint').hidden = true;
  const link = document.getElementById('invoice-link');
  link.hidden = false;
  link.replaceChildren('Invoice ', el('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: url }));
}

/** The start parameter of a `https://t.me/<bot>?start=…` link: opening it sends `/start <parameter>` to the bot. */
function botStartPayload(url) {
  if (typeof url !== 'string' || !/^https:\/\/t\.me\/[A-Za-z0-9_]+\?start=/.test(url)) return undefined;
  return new URL(url).searchParams.get('start') ?? undefined;
}

function keyboard(message) {
  const rows = message.replyMarkup?.inline_keyboard ?? [];
  const inviteInText = INVITE_LINK.exec(message.text)?.[0];
  const built = rows
    .filter((row) => row.length > 0)
    .map((row) =>
      el(
        'div',
        { className: 'keyboard-row' },
        row.map((button) => {
          if (button.callback_data) {
            return el('button', {
              type: 'button',
              text: button.text,
              onclick: async () => {
                try {
                  await call('POST', `/telegram/users/${userId}/clicks`, { messageId: message.messageId, data: button.callback_data });
                } catch (error) {
                  note(`Could not tap: ${error.message}`);
                }
                await refresh();
              },
            });
          }
          const startPayload = botStartPayload(button.url);
          if (startPayload) return el('button', { type: 'button', text: button.text, title: `/start ${startPayload}`, onclick: () => sendText(`/start ${startPayload}`) });
          if (button.url && INVOICE_URL.test(button.url)) return el('button', { type: 'button', text: button.text, onclick: () => openInvoice(button.url) });
          if (button.url && INVITE_LINK.test(button.url)) return el('button', { type: 'button', className: 'join', text: button.text, onclick: () => join(button.url) });
          if (!isWebUrl(button.url)) return el('span', { text: button.text });
          return el('a', { href: button.url, target: '_blank', rel: 'noopener noreferrer', text: button.text });
        }),
      ),
    );
  if (inviteInText && !rows.flat().some((button) => button.url === inviteInText)) {
    built.push(el('div', { className: 'keyboard-row' }, el('button', { type: 'button', className: 'join', text: 'Join the channel with this invite link', onclick: () => join(inviteInText) })));
  }
  return built.length > 0 ? el('div', { className: 'keyboard' }, built) : undefined;
}

let lastMessages = [];
function renderChat(messages) {
  const items = [
    ...messages.map((message) => ({ key: message.messageId, node: el('li', { className: 'message', 'data-message-id': message.messageId }, telegramHtml(message.text, message.parseMode), keyboard(message)) })),
    ...sent.map((entry, index) => ({ key: entry.afterId + 0.5 + index / 10_000, node: el('li', { className: entry.isNote ? 'message mine note' : 'message mine', text: entry.text }) })),
  ].sort((a, b) => a.key - b.key);
  const chat = document.getElementById('chat');
  chat.replaceChildren(...items.map((item) => item.node));
  chat.scrollTop = chat.scrollHeight;
}

const state = (value) => el('span', { className: `state ${value}`, text: value });
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const dl = (pairs) => el('dl', {}, pairs.filter(([, value]) => value !== undefined).flatMap(([term, value]) => [el('dt', { text: term }), el('dd', {}, value ?? '—')]));

function paymentCard(payment) {
  const payout = payment.payout;
  const transfer = payout?.transfer;
  return el(
    'div',
    { className: 'card', 'data-testid': 'payment', 'data-payment-id': payment.id },
    el('div', {}, el('strong', { text: `${payment.channel.title} · tier ${payment.tier ?? '—'} · $${payment.priceUsd}` }), ' ', state(payment.status), payment.isSettled ? ' settled' : ' not settled'),
    dl([
      ['payment', el('code', { text: payment.id })],
      ['NowPayments', `payment ${payment.providerPaymentId}, invoice ${payment.invoiceId ?? '—'}`],
      ['paid', payment.paid ?? '—'],
      ['to the gateway', payment.outcome ?? '—'],
      ['subscription', payment.subscription ? el('span', { 'data-testid': 'subscription' }, state(payment.subscription.status), ` until ${when(payment.subscription.expiresAt)}`) : '—'],
      ['invite', payment.invite ? `sent ${when(payment.invite.sentAt)}, joined ${when(payment.invite.joinedAt)}` : '—'],
      ['payout', payout ? el('span', {}, el('span', { 'data-testid': 'payout-state' }, state(payout.state)), ` ${payout.amount} → ${payout.destination}`) : payment.channel.strategy === 'instant' ? '—' : 'none: the owner is paid at the threshold'],
      ...(payout?.heldReason ? [['held', payout.heldReason]] : []),
      ...(payout?.failureCode ? [['failed', payout.failureCode]] : []),
      ...(transfer ? [['transfer', el('span', {}, el('code', { 'data-testid': 'tx-hash', text: transfer.txHash }), ` ${transfer.status}, block ${transfer.blockNumber ?? '—'}, gas ${transfer.gas ?? '—'}`)]] : []),
      ...(payout?.swap ? [['swap', `ChangeNow ${payout.swap.exchangeId} ${payout.swap.status}, received ${payout.swap.receivedAmount ?? '—'}`]] : []),
    ]),
    payment.ledger.length === 0
      ? undefined
      : el(
          'table',
          {},
          el('thead', {}, el('tr', {}, el('th', { text: 'ledger' }), el('th', { text: 'account' }), el('th', { text: 'amount' }))),
          el(
            'tbody',
            {},
            payment.ledger.flatMap((transaction) =>
              transaction.entries.map((entry, index) => el('tr', {}, el('td', { text: index === 0 ? transaction.kind : '' }), el('td', {}, el('code', { text: entry.account })), el('td', { text: entry.amount }))),
            ),
          ),
        ),
  );
}

function renderSystem(overview) {
  const payments = document.getElementById('payments');
  payments.replaceChildren(...(overview.payments.length === 0 ? [el('p', { className: 'hint', text: 'No payment yet.' })] : overview.payments.map(paymentCard)));

  document.getElementById('channels').replaceChildren(
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, ['channel', 'payout', 'owner balance (ledger)', 'owner wallet (chain)'].map((title) => el('th', { text: title })))),
      el(
        'tbody',
        {},
        overview.channels.map((channel) =>
          el(
            'tr',
            {},
            el('td', {}, `${channel.title} `, el('code', { text: channel.id })),
            el('td', { text: channel.strategy === 'threshold' ? `threshold $${channel.thresholdUsd}` : channel.strategy }),
            el('td', { text: channel.ownerBalance.map((balance) => balance.amount).join(' + ') || '0' }),
            el('td', {}, el('code', { text: channel.payoutWallet }), channel.wallet ? ` ${channel.wallet.eth} ETH` : ''),
          ),
        ),
      ),
    ),
  );

  document.getElementById('payouts').replaceChildren(
    ...(overview.payouts.length === 0
      ? [el('p', { className: 'hint', text: 'None yet.' })]
      : [
          el(
            'table',
            {},
            el('thead', {}, el('tr', {}, ['payout', 'kind', 'state', 'amount', 'transfer'].map((title) => el('th', { text: title })))),
            el(
              'tbody',
              {},
              overview.payouts.map((payout) =>
                el(
                  'tr',
                  {},
                  el('td', {}, el('code', { text: payout.id })),
                  el('td', { text: payout.kind }),
                  el('td', {}, state(payout.state)),
                  el('td', { text: payout.amount }),
                  el('td', {}, payout.transfer ? el('code', { text: payout.transfer.txHash }) : '—'),
                ),
              ),
            ),
          ),
        ]),
  );

  document.getElementById('chain').replaceChildren(
    ...(overview.chainTransfers.length === 0
      ? [el('p', { className: 'hint', text: 'None yet.' })]
      : [
          el(
            'table',
            {},
            el('thead', {}, el('tr', {}, ['hash', 'status', 'amount', 'to', 'block'].map((title) => el('th', { text: title })))),
            el(
              'tbody',
              {},
              overview.chainTransfers.map((transfer) =>
                el('tr', {}, el('td', {}, el('code', { text: transfer.txHash })), el('td', {}, state(transfer.status)), el('td', { text: transfer.amount }), el('td', {}, el('code', { text: transfer.to })), el('td', { text: transfer.blockNumber ?? '—' })),
              ),
            ),
          ),
        ]),
  );

  // What reconcile-hot-wallet compares: the chain, the ledger's hot_wallet account and what is in flight between them.
  const hotWallet = overview.hotWallet;
  document.getElementById('hot-wallet').replaceChildren(
    ...(!hotWallet
      ? [el('p', { className: 'hint', text: 'No local chain.' })]
      : [
          el('p', { className: 'hint' }, 'Wallet ', el('code', { text: hotWallet.address }), ` at block ${hotWallet.blockNumber}`),
          el(
            'table',
            { 'data-testid': 'hot-wallet' },
            el('thead', {}, el('tr', {}, ['asset', 'on chain', 'ledger', 'in flight', 'unexplained', ''].map((title) => el('th', { text: title })))),
            el(
              'tbody',
              {},
              hotWallet.assets.map((row) =>
                el('tr', {}, el('td', { text: row.asset }), el('td', { text: row.onChain }), el('td', { text: row.ledger }), el('td', { text: row.inFlight }), el('td', { text: row.unexplained }), el('td', {}, state(row.verdict))),
              ),
            ),
          ),
          ...hotWallet.inFlight.map((line) => el('p', { className: 'hint', text: line })),
        ]),
  );

  document.getElementById('owner').replaceChildren(
    ...(overview.ownerMessages.length === 0 && overview.ownerNotifications.length === 0
      ? [el('p', { className: 'hint', text: 'None yet.' })]
      : [
          ...overview.ownerMessages.map((message) => el('div', { className: 'message', 'data-testid': 'owner-message' }, telegramHtml(message.text, message.parseMode ?? undefined))),
          el(
            'table',
            {},
            el('tbody', {}, overview.ownerNotifications.map((notification) => el('tr', {}, el('td', { text: notification.channelTitle }), el('td', { text: notification.kind }), el('td', {}, state(notification.status)), el('td', { text: when(notification.sentAt ?? notification.createdAt) })))),
          ),
        ]),
  );
}

/** Each open channel's latest tier post, with its buttons working as in Telegram (they open the bot with /start). */
function renderChannelPosts(posts) {
  const withPost = posts.filter((entry) => entry.post);
  document.getElementById('channel-posts').replaceChildren(
    ...(withPost.length === 0
      ? [el('p', { className: 'hint', text: 'No post yet: the broadcaster posts every 5 minutes, or now with the button.' })]
      : withPost.map((entry) =>
          el(
            'div',
            { className: 'message channel-post', 'data-testid': 'channel-post' },
            el('div', { className: 'hint', text: `${entry.title} (public channel)` }),
            telegramHtml(entry.post.text, entry.post.parseMode),
            keyboard(entry.post),
          ),
        )),
  );
}

async function loadChannelPosts(channels) {
  return Promise.all(
    channels.map(async (channel) => {
      const { messages } = await call('GET', `/telegram/chats/${channel.openChatId}/messages`);
      return { title: channel.title, post: messages.filter((message) => (message.replyMarkup?.inline_keyboard ?? []).length > 0).at(-1) };
    }),
  );
}

function renderDeepLinks(channels) {
  const links = document.getElementById('deep-links');
  links.replaceChildren(
    ...channels.map((channel) =>
      el('button', { type: 'button', text: `Open ${channel.title} (${channel.strategy})`, title: `/start ${channel.startPayload}`, onclick: () => sendText(`/start ${channel.startPayload}`) }),
    ),
  );
}

/** Re-renders a part only when its data changed, so buttons stay put between polls. */
function renderIfChanged(key, data, render) {
  const json = JSON.stringify(data);
  if (lastRendered.get(key) === json) return;
  lastRendered.set(key, json);
  render(data);
}

let isRefreshing = false;
async function refresh() {
  if (isRefreshing) return;
  isRefreshing = true;
  try {
    const [{ messages }, overview] = await Promise.all([call('GET', `/telegram/chats/${userId}/messages`), call('GET', `/overview?user=${userId}`)]);
    lastBotMessageId = messages.reduce((max, message) => Math.max(max, message.messageId), 0);
    lastMessages = messages;
    renderIfChanged('chat', { messages, sent }, () => renderChat(messages));
    renderIfChanged('links', overview.channels.map((channel) => [channel.id, channel.title, channel.strategy]), () => renderDeepLinks(overview.channels));
    renderIfChanged('system', overview, renderSystem);
    renderIfChanged('posts', await loadChannelPosts(overview.channels), renderChannelPosts);
  } catch (error) {
    document.getElementById('job-status').textContent = `The runtime does not answer: ${error.message}`;
  } finally {
    isRefreshing = false;
  }
}

document.getElementById('who').textContent = userId === 1001 ? 'Alice, Telegram user 1001' : `Telegram user ${userId}`;
document.getElementById('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('composer-text');
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  void sendText(text);
});
document.getElementById('run-broadcast').addEventListener('click', async (event) => {
  event.preventDefault(); // inside <summary>: do not fold the box
  const status = document.getElementById('job-status');
  try {
    const runtime = await call('GET', '/runtime');
    const job = runtime.scheduledJobs.find((name) => name.startsWith('broadcast-tiers'));
    if (!job) throw new Error('no broadcast-tiers job');
    await call('POST', `/jobs/${encodeURIComponent(job)}/run`, {});
    status.textContent = `${job} ran at ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    status.textContent = `Could not run it: ${error.message}`;
  }
  await refresh();
});
document.getElementById('run-tracking').addEventListener('click', async () => {
  const status = document.getElementById('job-status');
  try {
    const runtime = await call('GET', '/runtime');
    const job = runtime.scheduledJobs.find((name) => name.startsWith('track-payouts'));
    if (!job) throw new Error('no track-payouts job');
    await call('POST', `/jobs/${encodeURIComponent(job)}/run`, {});
    status.textContent = `${job} ran at ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    status.textContent = `Could not run it: ${error.message}`;
  }
  await refresh();
});

void refresh();
setInterval(refresh, 1000);
