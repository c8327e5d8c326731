import { useQuery } from '@tanstack/react-query';
import { must } from '../api/client';
import { useAuth } from '../auth/auth-context';

/** The queries several pages share, under one key each so a change refreshes every page that shows it. */
export const queryKeys = {
  me: ['me'] as const,
  channels: ['channels'] as const,
  channel: (id: string) => ['channels', id] as const,
  balances: ['balances'] as const,
  payoutOptions: ['payout-options'] as const,
  sessions: ['me', 'sessions'] as const,
  activity: ['me', 'activity'] as const,
};

export function useMe() {
  const { api } = useAuth();
  return useQuery({ queryKey: queryKeys.me, queryFn: () => must(api.GET('/me')) });
}

export function useChannels() {
  const { api } = useAuth();
  return useQuery({ queryKey: queryKeys.channels, queryFn: () => must(api.GET('/channels')) });
}

export function useChannel(channelId: string) {
  const { api } = useAuth();
  return useQuery({ queryKey: queryKeys.channel(channelId), queryFn: () => must(api.GET('/channels/{channelId}', { params: { path: { channelId } } })) });
}

export function useBalances() {
  const { api } = useAuth();
  return useQuery({ queryKey: queryKeys.balances, queryFn: () => must(api.GET('/balances')) });
}

export function usePayoutOptions() {
  const { publicApi } = useAuth();
  return useQuery({ queryKey: queryKeys.payoutOptions, queryFn: () => must(publicApi.GET('/payout-options')), staleTime: 10 * 60_000 });
}
