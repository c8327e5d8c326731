import type { SandboxRuntimeInfo } from './sandbox-routes.js';
import type { PaymentView } from './sandbox-payment-views.js';
import type { ChannelView } from './sandbox-views.js';

/** An inline keyboard button as the bot sent it. */
export interface InlineButton {
  text: string;
  callback_data?: string;
  url?: string;
}

/** A bot message in a chat of the Telegram simulator. */
export interface SandboxMessage {
  messageId: number;
  text: string;
  parseMode?: string;
  replyMarkup?: { inline_keyboard?: InlineButton[][] };
}

export interface SandboxJoinResult {
  joined: boolean;
  reason?: string;
}

/** What the NowPayments simulator answers to a simulated payment. */
export interface SandboxPaymentAnswer {
  payment: { paymentId: string; invoiceId: string; status: string; payAmount: string; actuallyPaid: string; payCurrency: string; outcomeAmount: string; outcomeCurrency: string };
  ipnDeliveries: { paymentId: string; status: string; httpStatus: number }[];
}

export interface WalletBalance {
  address: string;
  eth: string;
  usdt: string | null;
}

/** The runtime answered with an error, or could not be reached. */
export class SandboxHttpError extends Error {
  override name = 'SandboxHttpError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface SandboxClient {
  readonly baseUrl: string;
  runtime(): Promise<SandboxRuntimeInfo>;
  channels(): Promise<ChannelView[]>;
  /** Undefined until the payment exists (the first IPN records it). */
  payment(id: string): Promise<PaymentView | undefined>;
  wallet(address: string): Promise<WalletBalance>;
  runJob(name: string): Promise<void>;
  addUser(user: { id: number; first_name: string; username?: string; language_code?: string }): Promise<void>;
  sendText(userId: number, text: string): Promise<void>;
  click(userId: number, messageId: number, data: string): Promise<void>;
  join(userId: number, inviteLink: string): Promise<SandboxJoinResult>;
  /** The bot's messages in a chat, oldest first. */
  messages(chatId: number): Promise<SandboxMessage[]>;
  /** `fraction`: '1' in full, '0.5' half, '1.2' overpaid; `repeatEachIpn`: send every IPN that many times. */
  pay(invoiceId: string, options: { fraction: string; repeatEachIpn?: number }): Promise<SandboxPaymentAnswer>;
}

/**
 * The sandbox API of a running `npm start` (its `/sandbox/api`), over HTTP only: what the sandbox CLI
 * and the tests use to play a subscriber. `baseUrl` is the runtime's URL (`http://127.0.0.1:8080`).
 */
export function createSandboxClient(baseUrl: string, options: { timeoutMs?: number } = {}): SandboxClient {
  const api = `${baseUrl.replace(/\/+$/, '')}/sandbox/api`;
  const timeoutMs = options.timeoutMs ?? 30_000;

  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(`${api}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new SandboxHttpError(`Could not reach the sandbox at ${baseUrl} (${reason}). Is \`npm start\` running?`, 0, 'unreachable');
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = {};
    }
    if (!response.ok) {
      const answer = parsed as { error?: { code?: string; message?: string }; description?: string; message?: string; code?: string };
      const message = answer.error?.message ?? answer.description ?? answer.message ?? `HTTP ${response.status}`;
      throw new SandboxHttpError(`${method} ${path}: ${message}`, response.status, answer.error?.code ?? answer.code ?? 'http_error');
    }
    return parsed as T;
  };
  const path = (value: string | number) => encodeURIComponent(String(value));

  return {
    baseUrl,
    runtime: () => call<SandboxRuntimeInfo>('GET', '/runtime'),
    channels: async () => (await call<{ channels: ChannelView[] }>('GET', '/channels')).channels,
    async payment(id) {
      try {
        return (await call<{ payment: PaymentView }>('GET', `/payments/${path(id)}`)).payment;
      } catch (error) {
        if (error instanceof SandboxHttpError && error.status === 404) return undefined;
        throw error;
      }
    },
    wallet: (address) => call<WalletBalance>('GET', `/wallets/${path(address)}`),
    async runJob(name) {
      await call('POST', `/jobs/${path(name)}/run`, {});
    },
    async addUser(user) {
      await call('POST', '/telegram/users', user);
    },
    async sendText(userId, text) {
      await call('POST', `/telegram/users/${path(userId)}/messages`, { text });
    },
    async click(userId, messageId, data) {
      await call('POST', `/telegram/users/${path(userId)}/clicks`, { messageId, data });
    },
    join: (userId, inviteLink) => call<SandboxJoinResult>('POST', `/telegram/users/${path(userId)}/joins`, { inviteLink }),
    messages: async (chatId) => (await call<{ messages: SandboxMessage[] }>('GET', `/telegram/chats/${path(chatId)}/messages`)).messages,
    pay: (invoiceId, payOptions) =>
      call<SandboxPaymentAnswer>('POST', `/nowpayments/invoices/${path(invoiceId)}/pay`, {
        fraction: payOptions.fraction,
        ...(payOptions.repeatEachIpn !== undefined && { repeatEachIpn: payOptions.repeatEachIpn }),
      }),
  };
}
