import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type JsonRpcProvider, Wallet, parseEther } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {  } from '../shared/chain/index.js';
import { createChainProvider } from '../shared/testing/ethers-provider.js';
import { type Anvil, startAnvil } from '../shared/testing/simulators/anvil.js';
import { createTestDatabase, hasPostgresServer, type TestDatabase } from '../shared/testing/database.js';

const run = promisify(execFile);

/** `npm run hot-wallet` is another process: it needs a database server both can reach. */
describe.skipIf(!hasPostgresServer)('npm run hot-wallet [skipped: needs DATABASE_URL, the CLI is another process]', () => {
  let testDb: TestDatabase;
  let anvil: Anvil;
  let provider: JsonRpcProvider;
  const hotWallet = Wallet.createRandom();
  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'scripts/hot-wallet.ts', ...args], {
      env: { ...process.env, DATABASE_URL: testDb.url, ETH_RPC_URL: anvil.rpcUrl, ETH_CHAIN_ID: '31337', HOT_WALLET_ADDRESS: hotWallet.address, USDT_ERC20_CONTRACT: '' },
    });
  const failure = async (...args: string[]) => {
    const error = await cli(...args).then(
      () => undefined,
      (caught: unknown) => caught as { code: number; stdout: string; stderr: string },
    );
    if (!error) throw new Error(`expected hot-wallet ${args.join(' ')} to fail`);
    return error;
  };

  beforeAll(async () => {
    [testDb, anvil] = await Promise.all([createTestDatabase(), startAnvil()]);
    provider = createChainProvider(anvil.rpcUrl, { chainId: 31337n });
  }, 60_000);
  afterAll(async () => {
    provider?.destroy();
    await Promise.all([testDb?.dispose(), anvil?.stop()]);
  });

  it('books a funding transaction as capital once, after checking it on chain, and then the wallet matches', async () => {
    const funder = new Wallet(anvil.accounts[4]!.privateKey, provider);
    const funding = await funder.sendTransaction({ to: hotWallet.address, value: parseEther('0.5') });
    await funding.wait();

    const unbooked = await failure('reconcile');
    expect(unbooked.code).toBe(3);
    expect(unbooked.stdout).toContain('SURPLUS 0.5 ETH nobody booked');

    const wrong = await failure('book-capital', '--asset', 'ETH', '--amount', '0.4', '--operator', 'ana', '--note', 'gas float', '--tx', funding.hash);
    expect(wrong.stderr).toContain('moved 500000000000000000 base units of ETH into the hot wallet, not 400000000000000000');
    const tooPrecise = await failure('book-capital', '--asset', 'ETH', '--amount', '0.0000000000000000001', '--operator', 'ana', '--note', 'x', '--key', 'k');
    expect(tooPrecise.code).toBe(1);

    const booked = await cli('book-capital', '--asset', 'ETH', '--amount', '0.5', '--operator', 'ana', '--note', 'gas float', '--tx', funding.hash);
    expect(booked.stdout).toContain('Booked 0.5 ETH into the hot wallet as capital');
    const again = await cli('book-capital', '--asset', 'ETH', '--amount', '0.5', '--operator', 'ana', '--note', 'gas float', '--tx', funding.hash);
    expect(again.stdout).toContain('Already booked');

    const matched = await cli('reconcile');
    expect(matched.stdout).toContain('matched: every unit booked');
    const { rows } = await testDb.db.query<{ actor_id: string; action: string }>(`SELECT actor_id, action FROM audit_log WHERE action = 'hot_wallet.capital_booked'`);
    expect(rows).toEqual([{ actor_id: 'ana', action: 'hot_wallet.capital_booked' }]);
  }, 60_000);

  it('prints its usage for an unknown command', async () => {
    const error = await failure('nope');
    expect(error.code).toBe(2);
    expect(error.stderr).toContain('usage: npm run hot-wallet');
  });
});
