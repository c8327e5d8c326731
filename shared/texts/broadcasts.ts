import { escapeHtml as esc } from '../telegram/html.js';
import { formatUsdCents } from '../money/index.js';
import { daysEn, daysRu } from './catalogue.js';
import { type BotRightName, type ChatRole, grantable, rights } from './owner.js';

/**
 * The posts the bot puts into an owner's channels (the tier buttons in the open channel, the
 * donation button in the closed one) and what the owner is told when posting fails. Posts are in
 * the owner's language; every owner text goes through `esc`. Button labels are plain text.
 */

const MEDALS = ['🥇', '🥈', '🥉'] as const;

function withDescription(title: string, description: string): string {
  const trimmed = description.trim();
  return trimmed === '' ? `<b>${esc(title)}</b>` : `<b>${esc(title)}</b>: ${esc(trimmed)}`;
}

export interface TierPostFacts {
  openTitle: string;
  openDescription: string;
  closedTitle: string;
  closedDescription: string;
}

export const broadcastMessages = {
  tierPost: {
    en: (facts: TierPostFacts) =>
      [`👋 Welcome to ${withDescription(facts.openTitle, facts.openDescription)}`, '', `Choose a tier below to get into ${withDescription(facts.closedTitle, facts.closedDescription)}`].join('\n'),
    ru: (facts: TierPostFacts) =>
      [`👋 Добро пожаловать в ${withDescription(facts.openTitle, facts.openDescription)}`, '', `Выберите тариф ниже, чтобы попасть в ${withDescription(facts.closedTitle, facts.closedDescription)}`].join('\n'),
  },
  tierPostButton: {
    en: (tierNumber: number, priceCents: bigint, days: number) => `${MEDALS[tierNumber - 1] ?? '⭐'} $${formatUsdCents(priceCents)} for ${daysEn(days)}`,
    ru: (tierNumber: number, priceCents: bigint, days: number) => `${MEDALS[tierNumber - 1] ?? '⭐'} $${formatUsdCents(priceCents)} за ${daysRu(days)}`,
  },
  donationPost: {
    en: (appeal: string | null) => ['Enjoying the content? Consider supporting the channel.', '', `<b>${esc(appeal?.trim() || 'Every donation helps us keep going!')}</b>`].join('\n'),
    ru: (appeal: string | null) => ['Нравится контент? Поддержите канал.', '', `<b>${esc(appeal?.trim() || 'Каждое пожертвование помогает нам продолжать!')}</b>`].join('\n'),
  },
  donationPostButton: {
    en: () => '💝 Donate to support this channel',
    ru: () => '💝 Поддержать канал',
  },
  tierPostRefused: {
    en: (role: ChatRole, chatTitle: string, missing: readonly BotRightName[]) => {
      const what = role === 'open' ? 'your tier buttons' : 'the donation button';
      const fix = missing.includes('membership')
        ? 'Add the bot back as an administrator with this right:'
        : missing.includes('administrator')
          ? 'Make the bot an administrator with this right:'
          : 'Open the channel settings → Administrators → the bot, and turn on:';
      const granted = grantable(missing);
      return [
        `⚠️ <b>The bot could not post ${what} in ${esc(chatTitle)}</b>`,
        'New subscribers cannot find you there until this is fixed. The bot tries again with each scheduled post.',
        '',
        fix,
        rights('en', granted.length > 0 ? granted : ['can_post_messages']),
      ].join('\n');
    },
    ru: (role: ChatRole, chatTitle: string, missing: readonly BotRightName[]) => {
      const what = role === 'open' ? 'кнопки тарифов' : 'кнопку пожертвований';
      const fix = missing.includes('membership')
        ? 'Добавьте бота обратно администратором с правом:'
        : missing.includes('administrator')
          ? 'Сделайте бота администратором с правом:'
          : 'Откройте настройки канала → Администраторы → бот и включите:';
      const granted = grantable(missing);
      return [
        `⚠️ <b>Бот не смог опубликовать ${what} в ${esc(chatTitle)}</b>`,
        'Пока это не исправлено, новые подписчики не найдут вас там. Бот попробует снова при следующей публикации по расписанию.',
        '',
        fix,
        rights('ru', granted.length > 0 ? granted : ['can_post_messages']),
      ].join('\n');
    },
  },
  broadcastDisabled: {
    en: (chatTitle: string, failures: number, lastError: string | null) =>
      [
        `⛔ <b>Tier posts in ${esc(chatTitle)} are switched off</b> after ${failures} failed attempts in a row.`,
        lastError ? `Last error: ${esc(lastError)}` : '',
        'Fix the bot\'s rights in the channel, then turn the schedule back on in the dashboard (channel → Broadcasts) or press "Broadcast now".',
      ]
        .filter((line) => line !== '')
        .join('\n'),
    ru: (chatTitle: string, failures: number, lastError: string | null) =>
      [
        `⛔ <b>Публикация тарифов в ${esc(chatTitle)} отключена</b> после ${failures} неудачных попыток подряд.`,
        lastError ? `Последняя ошибка: ${esc(lastError)}` : '',
        'Исправьте права бота в канале и снова включите расписание в панели (канал → Публикации) или нажмите «Опубликовать сейчас».',
      ]
        .filter((line) => line !== '')
        .join('\n'),
  },
};
