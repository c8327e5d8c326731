import { useQuery } from '@tanstack/react-query';
import { must, type RevenueInterval } from '../api/client';
import { useAuth } from '../auth/auth-context';

/** The queries several pages share, under one key each so a change refreshes every page that shows it. */
export const queryKeys = {
  me: ['me'] as const,
  channels: ['channels'] as const,
  channel: (id: string) => ['channels', id] as const,
  balances: ['balances'] as const,
  channelFigures: ['channel-figures'] as const,
  revenue: (interval: string, channelId: string) => ['revenue', interval, channelId] as const,
  tierPosts: (id: string) => ['channels', id, 'tier-posts'] as const,
  growth: (id: string) => ['channels', id, 'growth'] as const,
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

export function useChannelFigures() {
  const { api } = useAuth();
  return useQuery({ queryKey: queryKeys.channelFigures, queryFn: () => must(api.GET('/channel-figures')) });
}

/** Revenue buckets for the chart; `channelId` '' for every channel. */
export function useRevenue(interval: RevenueInterval, channelId: string) {
  const { api } = useAuth();
  return useQuery({
    queryKey: queryKeys.revenue(interval, channelId),
    queryFn: () => must(api.GET('/revenue', { params: { query: { interval, ...(channelId ? { channelId } : {}) } } })),
  });
}

/** Free trials and gifts of a channel, counted. */
export function useChannelGrowth(channelId: string) {
  const { api } = useAuth();
  return useQuery({ queryKey: queryKeys.growth(channelId), queryFn: () => must(api.GET('/channels/{channelId}/growth', { params: { path: { channelId } } })) });
}

export function useTierPosts(channelId: string) {
  const { api } = useAuth();
  return useQuery({ queryKey: queryKeys.tierPosts(channelId), queryFn: () => must(api.GET('/channels/{channelId}/tier-posts', { params: { path: { channelId } } })) });
}
