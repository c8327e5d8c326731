/** Subscriber journey messages (filled by the subscriber feature). */
export const subscriberMessages = {} as const;
