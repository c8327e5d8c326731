import { describe, expect, it } from 'vitest';
import type { TransferInBooks } from './hot-wallet-books.js';
import { compareHotWallet } from './hot-wallet-position.js';

const AMOUNT = 1_000n;
const GAS = 21n;
const transfer = (overrides: Partial<TransferInBooks>): TransferInBooks => ({
  payoutId: 'p1',
  asset: 'ETH',
  amountUnits: AMOUNT,
  txHashes: ['0xaa'],
  recorded: null,
  ledgerValueOutUnits: 0n,
  ledgerGasOutWei: 0n,
  ...overrides,
});
const mined = (isSuccess: boolean) => new Map([['p1', { blockNumber: 5n, isSuccess, feeWei: GAS, txHash: '0xaa' }]]);

/** Per case: the transfer's books and chain, and what the chain − ledger difference it explains (value, gas). */
const CASES = [
  { name: 'signed, not broadcast or mined: nothing moved anywhere', books: transfer({}), chain: new Map(), value: 0n, gas: 0n },
  { name: 'broadcast (funding booked), not mined: the chain still holds it', books: transfer({ ledgerValueOutUnits: AMOUNT }), chain: new Map(), value: AMOUNT, gas: 0n },
  { name: 'mined, funding not booked yet (a crash after broadcasting)', books: transfer({}), chain: mined(true), value: -AMOUNT, gas: GAS },
  { name: 'mined and funded, gas not booked yet', books: transfer({ ledgerValueOutUnits: AMOUNT }), chain: mined(true), value: 0n, gas: GAS },
  { name: 'reverted, its return not booked yet: the value never left', books: transfer({ ledgerValueOutUnits: AMOUNT }), chain: mined(false), value: AMOUNT, gas: GAS },
  { name: 'reverted, returned and gas booked: nothing in flight', books: transfer({ recorded: { isSuccess: false, feeWei: GAS, txHash: '0xaa' }, ledgerGasOutWei: GAS }), chain: new Map(), value: 0n, gas: 0n },
] as const;

describe('compareHotWallet', () => {
  it.each(CASES)('$name', ({ books, chain, value, gas }) => {
    const ledger = 10_000n;
    const chainUnits = ledger + value - gas + 7n; // 7 units nobody booked
    const compared = compareHotWallet({
      assets: ['ETH'],
      books: { ledgerUnits: new Map([['ETH', ledger]]), nextNonce: 1n, transfers: [books], payments: [] },
      holdings: { blockNumber: 5n, weiUnits: chainUnits, tokenUnits: new Map(), nonce: 1n },
      tokenContracts: {},
      minedByBlock: chain,
    });
    expect(compared.assets[0]).toMatchObject({ transfersInFlightUnits: value, gasNotBookedUnits: gas, unexplainedUnits: 7n, verdict: 'surplus' });
  });

  it('adds what the wallet held before watching began, and payment outcomes not booked, per asset', () => {
    const compared = compareHotWallet({
      assets: ['ETH', 'USDT_ERC20'],
      books: {
        ledgerUnits: new Map([['ETH', 100n], ['USDT_ERC20', 50n]]),
        nextNonce: null,
        transfers: [],
        payments: [{ paymentId: 'pay', status: 'partially_paid', asset: 'USDT_ERC20', arrivedUnits: 9n, bookedUnits: 0n }],
      },
      holdings: { blockNumber: 1n, weiUnits: 130n, tokenUnits: new Map([['0xtoken', 58n]]), nonce: 0n },
      tokenContracts: { USDT_ERC20: '0xTOKEN' },
      minedByBlock: new Map(),
      openingUnits: { ETH: 30n },
    });
    expect(compared.assets).toMatchObject([
      { asset: 'ETH', openingUnits: 30n, inFlightUnits: 30n, unexplainedUnits: 0n, verdict: 'matched' },
      { asset: 'USDT_ERC20', receivedNotBookedUnits: 9n, inFlightUnits: 9n, unexplainedUnits: -1n, verdict: 'deficit' },
    ]);
  });
});
