import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { createApi } from '../api/client';
import { type Auth, AuthProvider, createQueryClient } from '../auth/auth-context';
import { createAuthSession } from '../auth/auth-session';
import { ParamsProvider } from '../router';
import { describeDiscount, PromoCodesPage, promoCodeBody } from './promo-codes-page';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const code = {
  id: 'pc_1',
  channelId: 'ch_1',
  code: 'SPRING25',
  status: 'active',
  percentOffBps: 2500,
  amountOff: null,
  validFrom: null,
  validUntil: null,
  maxUses: 5,
  maxUsesPerUser: null,
  tierNumbers: [],
  link: 'https://t.me/PayGatePrimeBot?start=c_ch_1_pSPRING25',
  createdAt: '2026-03-01T00:00:00.000Z',
  figures: { checkouts: 7, heldUses: 1, redemptions: 3, revenue: '45.00', discountGiven: '14.97' },
};

afterEach(() => cleanup());

describe('promoCodeBody', () => {
  const base = { code: 'spring25', kind: 'percent' as const, value: '12.5', validUntil: '', maxUses: '', maxUsesPerUser: '', tierNumbers: [] };

  it('sends percent as whole basis points and empty limits as null', () => {
    expect(promoCodeBody(base).body).toEqual({ code: 'spring25', percentOffBps: 1250, validUntil: null, maxUses: null, maxUsesPerUser: null, tierNumbers: [] });
    expect(promoCodeBody({ ...base, kind: 'fixed', value: '5', validUntil: '2030-01-01', maxUses: '10', tierNumbers: [2] }).body).toEqual({
      code: 'spring25',
      amountOff: '5',
      validUntil: '2030-01-01T00:00:00.000Z',
      maxUses: 10,
      maxUsesPerUser: null,
      tierNumbers: [2],
    });
  });

  it('names the fields it refuses', () => {
    expect(promoCodeBody({ ...base, code: 'a b', value: '101' }).errors).toEqual({ code: expect.any(String), percentOffBps: expect.any(String) });
    expect(promoCodeBody({ ...base, kind: 'fixed', value: '0.00', maxUsesPerUser: '1.5' }).errors).toEqual({ amountOff: expect.any(String), maxUsesPerUser: expect.any(String) });
  });

  it('describes discounts', () => {
    expect(describeDiscount({ percentOffBps: 2500, amountOff: null })).toBe('25 % off');
    expect(describeDiscount({ percentOffBps: 1250, amountOff: null })).toBe('12.50 % off');
    expect(describeDiscount({ percentOffBps: null, amountOff: '5.00' })).toBe('$5.00 off');
  });
});

describe('PromoCodesPage', () => {
  it('lists codes with their figures and creates one, showing the server’s field error', async () => {
    const posted: unknown[] = [];
    const gateway = async (request: Request) => {
      const url = new URL(request.url, 'http://localhost');
      const path = url.pathname.replace('/api/v1', '');
      if (path === '/auth/login') return json(200, { accessToken: 't', tokenType: 'Bearer', expiresIn: 900, expiresAt: new Date(Date.now() + 900_000).toISOString() });
      if (path === '/channels/ch_1') return json(200, { id: 'ch_1', openChat: { title: 'Market notes' }, tiers: [{ tierNumber: 1, priceUsd: '19.99', durationDays: 30 }] });
      if (path === '/channels/ch_1/promo-codes' && request.method === 'POST') {
        posted.push(await request.json());
        return json(409, { error: { code: 'promo_code_taken', message: 'taken', fields: { code: 'already used in this channel' } }, requestId: 'r' });
      }
      if (path === '/channels/ch_1/promo-codes') return json(200, { promoCodes: [code] });
      return json(404, { error: { code: 'not_found', message: 'no' }, requestId: 'r' });
    };
    const session = createAuthSession({ apiBase: 'http://localhost/api/v1', fetch: gateway });
    await session.logIn('owner@example.com', 'x');
    const auth: Auth = { session, api: createApi((request) => session.fetch(request)), publicApi: createApi(gateway) };
    render(
      <AuthProvider auth={auth}>
        <QueryClientProvider client={createQueryClient()}>
          <ParamsProvider value={{ channelId: 'ch_1' }}>
            <PromoCodesPage />
          </ParamsProvider>
        </QueryClientProvider>
      </AuthProvider>,
    );
    const row = await screen.findByTestId('promo-code');
    expect(within(row).getByRole('button', { name: 'Archive SPRING25' })).toBeTruthy();
    expect(row.textContent).toContain('SPRING25');
    expect(row.textContent).toContain('25 % off');
    expect(row.textContent).toContain('$45.00');
    expect(row.textContent).toContain('(+1 held)');

    const user = userEvent.setup();
    await user.type(screen.getByRole('textbox', { name: /^Code/ }), 'SPRING25');
    await user.type(screen.getByRole('textbox', { name: /^Percent off/ }), '10');
    await user.click(screen.getByRole('button', { name: 'Create the code' }));
    expect(await screen.findByText('already used in this channel')).toBeTruthy();
    expect(posted).toEqual([{ code: 'SPRING25', percentOffBps: 1000, validUntil: null, maxUses: null, maxUsesPerUser: null, tierNumbers: [] }]);
  });
});
