/**
 * `npm run hot-wallet -- reconcile | book-capital --asset <ETH|USDT_ERC20> --amount <decimal> --operator <name> --note <text> (--tx <funding tx hash> | --key <name>) [--direction in|out]`
 *
 * The operator's tool for the hot wallet against the ledger (docs/reliability.md, "Wallet against
 * ledger"). `reconcile` prints the comparison per asset at one block and changes nothing.
 * `book-capital` books platform funds moved into (or out of) the hot wallet — the gas float, a
 * top-up, a fee sweep — as a `capital` ledger transaction, audited; with `--tx` the funding
 * transaction is checked on chain first and names the booking, so it cannot be booked twice.
 *
 * Uses DATABASE_URL, and ETH_RPC_URL, ETH_CHAIN_ID, HOT_WALLET_ADDRESS, USDT_ERC20_CONTRACT for the chain.
 */
import { parseArgs } from 'node:util';
import { createJsonRpc } from '../shared/chain/index.js';
import { systemClock } from '../shared/clock/index.js';
import { ConfigError, configVars, loadConfig } from '../shared/config/index.js';
import { openDatabase } from '../shared/db/index.js';
import { AppError } from '../shared/errors/index.js';
import { bookCapital, createHotWalletChain, describePosition, formatAsset, parseCapitalAmount, readHotWalletPosition, verifyFunding } from '../shared/hot-wallet/index.js';

const USAGE =
  'usage: npm run hot-wallet -- reconcile\n' +
  '       npm run hot-wallet -- book-capital --asset ETH|USDT_ERC20 --amount <decimal> --operator <name> --note <text> (--tx <funding tx hash> | --key <name>) [--direction in|out]';

function chainConfig() {
  const config = loadConfig({
    ETH_RPC_URL: configVars.ETH_RPC_URL,
    ETH_CHAIN_ID: configVars.ETH_CHAIN_ID,
    HOT_WALLET_ADDRESS: configVars.HOT_WALLET_ADDRESS,
    USDT_ERC20_CONTRACT: configVars.USDT_ERC20_CONTRACT,
  });
  return {
    chain: createHotWalletChain(createJsonRpc(config.ETH_RPC_URL)),
    target: {
      chainId: BigInt(config.ETH_CHAIN_ID),
      address: config.HOT_WALLET_ADDRESS,
      tokenContracts: config.USDT_ERC20_CONTRACT ? { USDT_ERC20: config.USDT_ERC20_CONTRACT } : {},
    },
  };
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      asset: { type: 'string' },
      amount: { type: 'string' },
      operator: { type: 'string' },
      note: { type: 'string' },
      tx: { type: 'string' },
      key: { type: 'string' },
      direction: { type: 'string', default: 'in' },
    },
  });
  const [command] = positionals;
  if (command !== 'reconcile' && command !== 'book-capital') {
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  const { DATABASE_URL } = loadConfig({ DATABASE_URL: configVars.DATABASE_URL.unwrap() });
  const db = await openDatabase({ databaseUrl: DATABASE_URL });
  try {
    if (command === 'reconcile') {
      const { chain, target } = chainConfig();
      const position = await readHotWalletPosition({ db, chain }, target);
      for (const line of describePosition(position)) console.log(line);
      if (position.assets.some((comparison) => comparison.verdict !== 'matched')) process.exitCode = 3;
      return;
    }
    const { asset, amount, operator, note, tx, key, direction } = values;
    if (!asset || !amount || !operator || !note || (!tx && !key) || (direction !== 'in' && direction !== 'out')) {
      console.error(USAGE);
      process.exitCode = 2;
      return;
    }
    const { asset: parsedAsset, units } = parseCapitalAmount(asset, amount);
    if (tx && direction === 'in') {
      // The funding must be what the operator says it is: mined, into the hot wallet, exactly this amount.
      const { chain, target } = chainConfig();
      await verifyFunding(chain, { txHash: tx, asset: parsedAsset, units, wallet: target.address, tokenContract: target.tokenContracts.USDT_ERC20 });
    }
    const booked = await bookCapital(db, { asset: parsedAsset, units, direction, operator, note, txHash: tx, key, at: systemClock.now() });
    const what = `${formatAsset(units, parsedAsset)} ${direction === 'in' ? 'into' : 'out of'} the hot wallet`;
    console.log(
      booked.isNew
        ? `Booked ${what} as capital (ledger transaction ${booked.transactionId}). npm run hot-wallet -- reconcile shows the comparison.`
        : `Already booked: ${what} (ledger transaction ${booked.transactionId}); nothing changed.`,
    );
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof AppError) console.error(error.message);
  else console.error('hot-wallet: failed');
  process.exitCode = 1;
});
