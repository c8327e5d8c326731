import type { Composer } from 'grammy';
import type { BotContext } from '../context.js';

/** Every feature module the bot installs, in order. */
export function botFeatures(): Composer<BotContext>[] {
  return [];
}
