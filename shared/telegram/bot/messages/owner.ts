/** Owner journey messages (filled by the owner feature). */
export const ownerMessages = {} as const;
