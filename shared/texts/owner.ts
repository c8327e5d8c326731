import { escapeHtml as esc } from '../telegram/html.js';

/**
 * Owner journey messages: account linking, /channels, /notifications, and the alerts the
 * notify-owner stage sends (bot rights, misused invite links). Every parameter that comes from a
 * person (titles, names, emails) is escaped here; amounts arrive already formatted.
 */

/** A right the bot needs in a chat, or `membership` when it is not in the chat at all. */
export type BotRightName = 'membership' | 'administrator' | 'can_invite_users' | 'can_restrict_members' | 'can_post_messages' | 'can_send_messages';

/** Whether an intruder is out of the closed chat, as Telegram said when the owner is told. */
export type IntruderRemoval = 'removed' | 'still_member' | 'unknown';

/** Why a payout did not reach the owner, in words an owner can act on. */
export type PayoutFailureReason = 'wallet' | 'unsupported' | 'amount' | 'small' | 'pair' | 'exchange' | 'chain' | 'rejected' | 'other';

/** A payout as the owner sees it; amounts arrive formatted ('0.0061 ETH'). */
export interface PayoutNoticeFacts {
  channelTitle: string;
  amount: string;
  /** What arrived, when known ('12.34 USDT'). */
  received: string | null;
  wallet: string;
  txHash: string | null;
}

/** A parking conversion as the owner sees it; amounts formatted. */
export interface ParkingNoticeFacts {
  channelTitle: string;
  /** The owner's ETH that went into the batch ('0.0123 ETH'). */
  converted: string;
  /** Their share of what arrived ('36.12 USDT'). */
  received: string;
  /** Their USDT balance now and the threshold ('$41.50', '$50.00'). */
  balance: string;
  threshold: string;
}

/**
 * A threshold owner's balance at 50 % or 100 % of their payout threshold; amounts formatted.
 * shared/payouts/threshold-progress.ts measures it.
 */
export interface ThresholdProgressFacts {
  channelTitle: string;
  mark: 50 | 100;
  /** Parked USDT plus the ETH still to be parked at its invoice value ('$27.40'), and the threshold ('$50.00'). */
  balance: string;
  threshold: string;
  /** Whole percent of the threshold, rounded down ('54'). */
  percent: string;
  /** Of the balance, the ETH not yet parked in USDT ('0.0046 ETH', '$13.80'); null when there is none. */
  unparked: { amount: string; value: string } | null;
  /** 100 % only: when the payout starts (see `thresholdNextStep`). */
  next: 'hourly_run' | 'after_parking' | 'after_failed_payout' | null;
}

/** Which of a channel's two chats: the public one with tier posts, or the paid one. */
export type ChatRole = 'open' | 'closed';

export interface ChannelSummaryLine {
  title: string;
  activeSubscribers: number;
  /** Formatted, e.g. '$39.98'. */
  revenue30Days: string;
  /** Formatted per asset, e.g. ['0.0029 ETH']; empty when nothing is owed. */
  balances: readonly string[];
}

const RIGHT_NAMES: Record<'en' | 'ru', Record<BotRightName, string>> = {
  en: {
    membership: 'be in the chat',
    administrator: 'be an administrator',
    can_invite_users: 'Invite users via link',
    can_restrict_members: 'Ban users',
    can_post_messages: 'Post messages',
    can_send_messages: 'Send messages',
  },
  ru: {
    membership: 'состоять в чате',
    administrator: 'быть администратором',
    can_invite_users: 'Приглашать по ссылке',
    can_restrict_members: 'Блокировать пользователей',
    can_post_messages: 'Публиковать сообщения',
    can_send_messages: 'Отправлять сообщения',
  },
};

/** The rights to switch on, without the "be in the chat / be an administrator" preconditions. */
export const grantable = (missing: readonly BotRightName[]) => missing.filter((right) => right !== 'membership' && right !== 'administrator');

export const rights = (language: 'en' | 'ru', missing: readonly BotRightName[]) => missing.map((right) => `• ${RIGHT_NAMES[language][right]}`).join('\n');

function channelBlock(line: ChannelSummaryLine, labels: { subscribers: string; revenue: string; balance: string; none: string }): string {
  return [
    `<b>${esc(line.title)}</b>`,
    `${labels.subscribers}: ${line.activeSubscribers}`,
    `${labels.revenue}: ${line.revenue30Days}`,
    `${labels.balance}: ${line.balances.length > 0 ? line.balances.join(', ') : labels.none}`,
  ].join('\n');
}

export const ownerMessages = {
  linkSuccess: {
    en: (email: string) => `✅ Your Telegram account is now linked to the dashboard account <b>${esc(email)}</b>.\nTry /channels and /notifications.`,
    ru: (email: string) => `✅ Ваш Telegram привязан к аккаунту панели <b>${esc(email)}</b>.\nПопробуйте /channels и /notifications.`,
  },
  linkCodeUnknown: {
    en: () => '❌ This link code is not valid. Create a new one in the dashboard (Settings → Telegram) and open its link.',
    ru: () => '❌ Этот код привязки недействителен. Создайте новый в панели (Настройки → Telegram) и откройте его ссылку.',
  },
  linkCodeExpired: {
    en: () => '❌ This link code has expired. Create a new one in the dashboard (Settings → Telegram).',
    ru: () => '❌ Срок действия кода истёк. Создайте новый в панели (Настройки → Telegram).',
  },
  linkCodeUsed: {
    en: () => '❌ This link code was already used or replaced by a newer one. Create a new one in the dashboard if you need to link again.',
    ru: () => '❌ Этот код уже использован или заменён более новым. Если нужно привязать снова, создайте новый код в панели.',
  },
  linkAccountInactive: {
    en: () => '❌ The dashboard account for this code is disabled. Contact support.',
    ru: () => '❌ Аккаунт панели для этого кода отключён. Обратитесь в поддержку.',
  },
  linkTelegramTaken: {
    en: () => '❌ This Telegram account is already linked to another dashboard account. Unlink it there first.',
    ru: () => '❌ Этот Telegram уже привязан к другому аккаунту панели. Сначала отвяжите его там.',
  },
  ownerNotLinked: {
    en: () => 'This command is for channel owners. Link your account first: in the dashboard open Settings → Telegram and press the link.',
    ru: () => 'Эта команда для владельцев каналов. Сначала привяжите аккаунт: в панели откройте Настройки → Telegram и нажмите на ссылку.',
  },
  ownerNoChannels: {
    en: () => 'You have no channels yet. Add one in the dashboard.',
    ru: () => 'У вас пока нет каналов. Добавьте канал в панели.',
  },
  ownerChannels: {
    en: (lines: readonly ChannelSummaryLine[]) =>
      [
        '📊 <b>Your channels</b>',
        ...lines.map((line) => channelBlock(line, { subscribers: 'Active subscribers', revenue: 'Revenue, last 30 days', balance: 'Pending balance', none: 'none' })),
      ].join('\n\n'),
    ru: (lines: readonly ChannelSummaryLine[]) =>
      [
        '📊 <b>Ваши каналы</b>',
        ...lines.map((line) => channelBlock(line, { subscribers: 'Активные подписчики', revenue: 'Выручка за 30 дней', balance: 'Ожидает выплаты', none: 'нет' })),
      ].join('\n\n'),
  },
  notificationsTurnedOn: {
    en: (channelCount: number) => `🔔 Payment notifications are on for ${channelCount} channel(s). They come to this chat.`,
    ru: (channelCount: number) => `🔔 Уведомления о платежах включены для каналов: ${channelCount}. Они будут приходить в этот чат.`,
  },
  notificationsTurnedOff: {
    en: (channelCount: number) =>
      `🔕 Payment notifications are off for ${channelCount} channel(s). Warnings about the bot's rights and misused invite links still reach you.`,
    ru: (channelCount: number) =>
      `🔕 Уведомления о платежах выключены для каналов: ${channelCount}. Предупреждения о правах бота и чужих входах по ссылкам всё равно придут.`,
  },
  notificationsState: {
    en: (states: readonly { title: string; isOn: boolean }[]) =>
      [
        '<b>Payment notifications</b>',
        ...states.map((state) => `${state.isOn ? '🔔 on' : '🔕 off'} — ${esc(state.title)}`),
        '',
        'Change with /notifications on or /notifications off.',
      ].join('\n'),
    ru: (states: readonly { title: string; isOn: boolean }[]) =>
      [
        '<b>Уведомления о платежах</b>',
        ...states.map((state) => `${state.isOn ? '🔔 вкл' : '🔕 выкл'} — ${esc(state.title)}`),
        '',
        'Изменить: /notifications on или /notifications off.',
      ].join('\n'),
  },
  notificationsUsage: {
    en: () => 'Use /notifications on, /notifications off, or /notifications to see the current state.',
    ru: () => 'Используйте /notifications on, /notifications off или /notifications, чтобы увидеть текущее состояние.',
  },
  botRightsMissing: {
    en: (role: ChatRole, chatTitle: string, missing: readonly BotRightName[]) => {
      const where = role === 'closed' ? 'the paid channel' : 'the public channel';
      const effect =
        role === 'closed'
          ? 'Until this is fixed, new subscribers cannot get invite links and expired members are not removed.'
          : 'Until this is fixed, the bot cannot post your tier buttons there.';
      const fix = missing.includes('membership')
        ? 'Add the bot back as an administrator with these rights:'
        : missing.includes('administrator')
          ? 'Make the bot an administrator with these rights:'
          : 'Open the chat settings → Administrators → the bot, and turn on:';
      return [`⚠️ <b>The bot lacks rights in ${where} ${esc(chatTitle)}</b>`, effect, '', fix, rights('en', grantable(missing))].join('\n');
    },
    ru: (role: ChatRole, chatTitle: string, missing: readonly BotRightName[]) => {
      const where = role === 'closed' ? 'платном канале' : 'открытом канале';
      const effect =
        role === 'closed'
          ? 'Пока это не исправлено, новые подписчики не получат ссылки-приглашения, а истёкшие не будут удалены.'
          : 'Пока это не исправлено, бот не сможет публиковать там кнопки тарифов.';
      const fix = missing.includes('membership')
        ? 'Добавьте бота обратно администратором с правами:'
        : missing.includes('administrator')
          ? 'Сделайте бота администратором с правами:'
          : 'Откройте настройки чата → Администраторы → бот и включите:';
      return [`⚠️ <b>Боту не хватает прав в ${where} ${esc(chatTitle)}</b>`, effect, '', fix, rights('ru', grantable(missing))].join('\n');
    },
  },
  inviteLinkMisused: {
    en: (chatTitle: string, intruder: string, removal: IntruderRemoval) =>
      [
        `🚫 <b>Someone else used a subscriber's invite link</b> to <b>${esc(chatTitle)}</b>.`,
        `Who: ${esc(intruder)}`,
        removal === 'removed'
          ? 'They were removed and the link revoked. The subscriber can ask the bot for a new link.'
          : removal === 'still_member'
            ? 'The bot could not remove them: check that it may ban users, and remove them yourself.'
            : 'The link was revoked, but the bot could not confirm they are gone: please check the member list.',
      ].join('\n'),
    ru: (chatTitle: string, intruder: string, removal: IntruderRemoval) =>
      [
        `🚫 <b>Чужой человек вошёл по ссылке подписчика</b> в <b>${esc(chatTitle)}</b>.`,
        `Кто: ${esc(intruder)}`,
        removal === 'removed'
          ? 'Он удалён, ссылка отозвана. Подписчик может попросить у бота новую ссылку.'
          : removal === 'still_member'
            ? 'Бот не смог его удалить: проверьте право блокировать пользователей и удалите его вручную.'
            : 'Ссылка отозвана, но бот не смог проверить, что он удалён: проверьте список участников.',
      ].join('\n'),
  },
  payoutCompleted: {
    en: (facts: PayoutNoticeFacts) =>
      [
        `✅ <b>Payout sent</b> for <b>${esc(facts.channelTitle)}</b>`,
        `Amount: ${esc(facts.received ?? facts.amount)}`,
        `To: <code>${esc(facts.wallet)}</code>`,
        ...(facts.txHash ? [`Transaction: <code>${esc(facts.txHash)}</code>`] : []),
      ].join('\n'),
    ru: (facts: PayoutNoticeFacts) =>
      [
        `✅ <b>Выплата отправлена</b> по каналу <b>${esc(facts.channelTitle)}</b>`,
        `Сумма: ${esc(facts.received ?? facts.amount)}`,
        `Кошелёк: <code>${esc(facts.wallet)}</code>`,
        ...(facts.txHash ? [`Транзакция: <code>${esc(facts.txHash)}</code>`] : []),
      ].join('\n'),
  },
  payoutFailed: {
    en: (facts: PayoutNoticeFacts, reason: PayoutFailureReason) =>
      [
        `❌ <b>Payout not sent</b> for <b>${esc(facts.channelTitle)}</b>`,
        `${esc(facts.amount)} to <code>${esc(facts.wallet)}</code>: ${
          {
            wallet: 'the exchange refused this wallet address. Check the payout wallet and network in the dashboard.',
            amount: 'the amount is outside what the exchange converts right now.',
            unsupported: 'payouts in this currency and network are not supported. Choose another in the dashboard.',
            small: 'for a day the amount stayed below what the exchange converts, or the network fee would have taken too much of it.',
            pair: 'the exchange does not convert to this currency and network right now. Consider another payout currency.',
            exchange: 'the exchange could not complete the conversion.',
            chain: 'the transfer failed on chain.',
            rejected: 'the payout was declined in review.',
            other: 'it could not be completed.',
          }[reason]
        }`,
        // When it goes out again: the rules of shared/payouts/balance.ts (isBalanceDue).
        reason === 'wallet' || reason === 'unsupported' || reason === 'rejected'
          ? 'The amount is back on your balance; nothing was lost. It goes out again once you change the payout wallet.'
          : reason === 'small'
            ? 'The amount is back on your balance; nothing was lost. It goes out again once more has arrived.'
            : 'The amount is back on your balance; nothing was lost. It goes out again automatically within a day.',
      ].join('\n'),
    ru: (facts: PayoutNoticeFacts, reason: PayoutFailureReason) =>
      [
        `❌ <b>Выплата не отправлена</b> по каналу <b>${esc(facts.channelTitle)}</b>`,
        `${esc(facts.amount)} на <code>${esc(facts.wallet)}</code>: ${
          {
            wallet: 'обменник отклонил адрес кошелька. Проверьте кошелёк и сеть выплат в панели управления.',
            amount: 'сумма вне пределов, которые обменник сейчас принимает.',
            unsupported: 'выплаты в этой валюте и сети не поддерживаются. Выберите другие в панели управления.',
            small: 'сутки сумма была меньше минимума обменника, или комиссия сети забрала бы слишком большую её часть.',
            pair: 'обменник сейчас не меняет в эту валюту и сеть. Выберите другую валюту выплат.',
            exchange: 'обменник не смог завершить обмен.',
            chain: 'перевод не прошёл в блокчейне.',
            rejected: 'выплата отклонена при проверке.',
            other: 'её не удалось завершить.',
          }[reason]
        }`,
        reason === 'wallet' || reason === 'unsupported' || reason === 'rejected'
          ? 'Сумма возвращена на ваш баланс, ничего не потеряно. Она будет отправлена снова, когда вы смените кошелёк выплат.'
          : reason === 'small'
            ? 'Сумма возвращена на ваш баланс, ничего не потеряно. Она будет отправлена, когда поступит ещё.'
            : 'Сумма возвращена на ваш баланс, ничего не потеряно. Она будет автоматически отправлена снова в течение суток.',
      ].join('\n'),
  },
  payoutHeld: {
    en: (facts: PayoutNoticeFacts) =>
      [
        `⏸ <b>Payout under review</b> for <b>${esc(facts.channelTitle)}</b>`,
        `${esc(facts.amount)} to <code>${esc(facts.wallet)}</code> is above the automatic limit and waits for the operator's approval. You do not need to do anything.`,
      ].join('\n'),
    ru: (facts: PayoutNoticeFacts) =>
      [
        `⏸ <b>Выплата на проверке</b> по каналу <b>${esc(facts.channelTitle)}</b>`,
        `${esc(facts.amount)} на <code>${esc(facts.wallet)}</code> превышает автоматический лимит и ждёт подтверждения оператора. Ничего делать не нужно.`,
      ].join('\n'),
  },
  balanceParked: {
    en: (facts: ParkingNoticeFacts) =>
      [
        `🅿️ <b>Earnings parked in USDT</b> for <b>${esc(facts.channelTitle)}</b>`,
        `${esc(facts.converted)} → ${esc(facts.received)}, safe from ETH price swings until your payout.`,
        `Balance: ${esc(facts.balance)} of your ${esc(facts.threshold)} payout threshold.`,
      ].join('\n'),
    ru: (facts: ParkingNoticeFacts) =>
      [
        `🅿️ <b>Доход переведён в USDT</b> по каналу <b>${esc(facts.channelTitle)}</b>`,
        `${esc(facts.converted)} → ${esc(facts.received)}, без риска колебаний курса ETH до выплаты.`,
        `Баланс: ${esc(facts.balance)} из порога выплаты ${esc(facts.threshold)}.`,
      ].join('\n'),
  },
  thresholdProgress: {
    en: (facts: ThresholdProgressFacts) =>
      [
        facts.mark === 100
          ? `🎯 <b>Payout threshold reached</b> for <b>${esc(facts.channelTitle)}</b>`
          : `📈 <b>Halfway to your payout</b> for <b>${esc(facts.channelTitle)}</b>`,
        `Balance: ${facts.unparked ? '≈ ' : ''}${esc(facts.balance)} of your ${esc(facts.threshold)} payout threshold (${esc(facts.percent)} %).`,
        ...(facts.unparked
          ? [`Of it, ${esc(facts.unparked.amount)} (≈ ${esc(facts.unparked.value)} at your latest payment's rate) is still to be converted to USDT.`]
          : []),
        facts.next === 'hourly_run'
          ? 'A payout of your balance starts at the next hourly run.'
          : facts.next === 'after_parking'
            ? 'Once the ETH is converted to USDT (every 15 minutes, in batches), a payout starts at the next hourly run, provided the USDT reaches the threshold.'
            : facts.next === 'after_failed_payout'
              ? 'Your last payout did not go through: the balance goes out again as that message said.'
              : `A payout starts automatically once your balance reaches ${esc(facts.threshold)}.`,
      ].join('\n'),
    ru: (facts: ThresholdProgressFacts) =>
      [
        facts.mark === 100
          ? `🎯 <b>Порог выплаты достигнут</b> по каналу <b>${esc(facts.channelTitle)}</b>`
          : `📈 <b>Половина пути до выплаты</b> по каналу <b>${esc(facts.channelTitle)}</b>`,
        `Баланс: ${facts.unparked ? '≈ ' : ''}${esc(facts.balance)} из порога выплаты ${esc(facts.threshold)} (${esc(facts.percent)} %).`,
        ...(facts.unparked
          ? [`Из них ${esc(facts.unparked.amount)} (≈ ${esc(facts.unparked.value)} по курсу последнего платежа) ещё ждут перевода в USDT.`]
          : []),
        facts.next === 'hourly_run'
          ? 'Выплата баланса начнётся при ближайшем ежечасном запуске.'
          : facts.next === 'after_parking'
            ? 'Когда ETH будет переведён в USDT (каждые 15 минут, партиями), выплата начнётся при ближайшем ежечасном запуске, если USDT достигнет порога.'
            : facts.next === 'after_failed_payout'
              ? 'Прошлая выплата не прошла: баланс будет отправлен снова, как сказано в том сообщении.'
              : `Выплата начнётся автоматически, когда баланс достигнет ${esc(facts.threshold)}.`,
      ].join('\n'),
  },
} as const;
