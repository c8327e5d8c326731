/** Messages any feature may send. Each entry has `en` and `ru` with the same parameters. */
export const commonMessages = {
  welcome: {
    en: () => 'Hi! Open a channel link to subscribe, or use /subscriptions to see yours.',
    ru: () => 'Привет! Откройте ссылку канала, чтобы подписаться, или посмотрите свои подписки: /subscriptions.',
  },
  tooManyRequests: {
    en: () => 'Too many requests, please slow down a little.',
    ru: () => 'Слишком много запросов, пожалуйста, чуть медленнее.',
  },
  somethingWentWrong: {
    en: () => 'Something went wrong on our side. Please try again in a minute.',
    ru: () => 'У нас что-то пошло не так. Попробуйте ещё раз через минуту.',
  },
  staleButton: {
    en: () => 'This button is no longer valid. Please start again.',
    ru: () => 'Эта кнопка устарела. Пожалуйста, начните заново.',
  },
} as const;
