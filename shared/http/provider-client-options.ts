import type { Logger } from '../logging/index.js';

/** What every provider API client (NowPayments, ChangeNow) is built from. */
export interface ProviderClientOptions {
  /** API base including the version, no trailing slash (e.g. NOWPAYMENTS_API_URL, CHANGENOW_API_URL). */
  apiUrl: string;
  /** Sent in the provider's API-key header; never logged, never copied into errors. */
  apiKey: string;
  /** Per-attempt limit in milliseconds. Default 10 000. */
  timeoutMs?: number;
  /** Attempts per call, the first included. Default 3. */
  maxAttempts?: number;
  fetch?: typeof fetch;
  /** Waits between attempts. Default a real timer; tests pass an instant one. */
  sleep?: (ms: number) => Promise<void>;
  logger?: Logger;
}
