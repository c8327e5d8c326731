import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../shared/bus/topology.js';
import { readRuntimeState } from '../../shared/testing/sandbox/runtime-state.js';
import { createSandboxClient, type SandboxClient } from '../../shared/testing/sandbox/sandbox-client.js';

/**
 * The newcomer's path: a fresh clone, `npm start` with no configuration, and `npm run sandbox` playing
 * a subscriber against it over HTTP. The clone is of the committed HEAD (uncommitted work is not in
 * it); `SANDBOX_TEST_SOURCE=working-tree` copies the working tree instead, for development.
 * node_modules is shared with this checkout through a symlink instead of a second `npm ci`.
 */
const STARTUP_TIMEOUT_MS = 240_000;
const CLI_TIMEOUT_MS = 240_000;
/** Per test: one or two CLI runs on a loaded machine. */
const TEST_TIMEOUT_MS = 2 * CLI_TIMEOUT_MS;

function freshCopy(into: string): void {
  const root = repositoryRoot();
  if (process.env.SANDBOX_TEST_SOURCE === 'working-tree') {
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const file of files) {
      // Deleted but not yet committed; or node_modules itself when it is a symlink (shared below).
      if (file === 'node_modules' || !existsSync(path.join(root, file))) continue;
      mkdirSync(path.dirname(path.join(into, file)), { recursive: true });
      cpSync(path.join(root, file), path.join(into, file));
    }
  } else {
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', root, into], { stdio: 'pipe' });
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(into, 'node_modules'), 'dir');
}

/** The zero-configuration environment: every provider simulated, embedded database. */
function sandboxEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [
    'DATABASE_URL',
    'PUBSUB_EMULATOR_HOST',
    'NOWPAYMENTS_API_URL',
    'TELEGRAM_BOT_TOKEN',
    'CHANGENOW_API_URL',
    'ETH_RPC_URL',
    'PUBLIC_BASE_URL',
    'PLATFORM_FEE_BPS',
  ]) {
    delete env[name];
  }
  return env;
}

interface CliRun {
  code: number | null;
  output: string;
}

function runCli(cwd: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'sandbox', '--', ...args], { cwd, env: sandboxEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`npm run sandbox ${args.join(' ')} did not finish:\n${output}`));
    }, CLI_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('npm start + npm run sandbox, from a fresh clone', () => {
  let workDir = '';
  let clone = '';
  let dataDir = '';
  let runtime: ChildProcess | undefined;
  let runtimeOutput = '';
  let client: SandboxClient;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'pgp-fresh-'));
    clone = path.join(workDir, 'repo');
    dataDir = path.join(workDir, 'data');
    freshCopy(clone);
    runtime = spawn('npm', ['start', '--', '--port', '0', '--data-dir', dataDir, '--reset'], {
      cwd: clone,
      env: sandboxEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so afterAll stops npm, tsx, anvil and all
    });
    runtime.stdout?.on('data', (chunk: Buffer) => (runtimeOutput += chunk.toString()));
    runtime.stderr?.on('data', (chunk: Buffer) => (runtimeOutput += chunk.toString()));

    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    let url: string | undefined;
    while (!url) {
      if (runtime.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${runtimeOutput}`);
      url = readRuntimeState(dataDir)?.url;
      if (!url) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    client = createSandboxClient(url);
  }, STARTUP_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    const pid = runtime?.pid;
    if (pid && runtime?.exitCode === null) {
      const exited = new Promise((resolve) => runtime?.once('exit', resolve));
      process.kill(-pid, 'SIGINT');
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 15_000);
      await exited;
      clearTimeout(timer);
    }
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }, 60_000);

  it('prints the guide with the sandbox page and the CLI, and lists the demo channels', async () => {
    expect(runtimeOutput).toMatch(/Sandbox:\s+http:\/\/127\.0\.0\.1:\d+\/sandbox/);
    expect(runtimeOutput).toContain('npm run sandbox -- pay --channel premium --tier 1');
    const listed = await runCli(clone, ['channels', '--data-dir', dataDir]);
    expect(listed.code, listed.output).toBe(0);
    expect(listed.output).toMatch(/^premium +ch_\S+ +Demo Premium +instant/m);
    expect(listed.output).toMatch(/^club +ch_\S+ +Demo Club +threshold at \$50\.00/m);
  }, TEST_TIMEOUT_MS);

  it('pays an instant channel: access, invite, and the payout completed on the local chain', async () => {
    const run = await runCli(clone, ['pay', '--channel', 'premium', '--tier', '1', '--data-dir', dataDir]);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/done +instant payout po_\S+ completed/);
    const paymentId = /payment +(pay_\S+) finished and settled/.exec(run.output)?.[1];
    expect(paymentId, run.output).toBeDefined();

    const payment = await client.payment(paymentId ?? '');
    expect(payment?.subscription?.status).toBe('active');
    expect(payment?.invite?.sentAt).not.toBeNull();
    expect(payment?.invite?.joinedAt).not.toBeNull();
    expect(payment?.payout?.state).toBe('completed');
    expect(payment?.payout?.transfer).toMatchObject({ status: 'confirmed', txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    const [channel] = (await client.channels()).filter((candidate) => candidate.alias === 'premium');
    // anvil account 1 starts with 10 000 ETH; the payout adds the owner's net share.
    const wallet = await client.wallet(channel?.payoutWallet ?? '');
    expect(wallet.eth).toMatch(/^10000\.\d*[1-9]/);
    expect(run.output).toContain(`now holds ${wallet.eth} ETH`);

    // The runtime's terminal told the same story, one line per step.
    await expect.poll(() => runtimeOutput, { timeout: 10_000 }).toMatch(new RegExp(`payout +${payment?.payout?.id} completed`));
    expect(runtimeOutput).toMatch(new RegExp(`settle +${paymentId} settled`));
    expect(runtimeOutput).toMatch(new RegExp(`invite +${paymentId} one-time invite link sent`));
    expect(runtimeOutput).toMatch(new RegExp(`chain +${payment?.payout?.id} transfer broadcast: ${payment?.payout?.transfer?.txHash}`));
  }, TEST_TIMEOUT_MS);

  it('pays a threshold channel from its tier post with every IPN sent twice: settled once, the owner\'s balance accumulates', async () => {
    const run = await runCli(clone, ['pay', '--channel', 'club', '--tier', '2', '--repeat-ipn', '--from-post', '--data-dir', dataDir]);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/Demo Club \(public\) shows: 🥇/);
    expect(run.output).toMatch(/taps "🥈 [^"]+" in the channel/);
    expect(run.output).toContain('the ledger holds 1 payment_settled transaction(s)');
    const paymentId = /payment +(pay_\S+) finished and settled/.exec(run.output)?.[1];
    const payment = await client.payment(paymentId ?? '');
    expect(payment?.subscription?.status).toBe('active');
    expect(payment?.invite?.sentAt).not.toBeNull();
    expect(payment?.payout).toBeNull();
    expect(payment?.ledger.find((transaction) => transaction.kind === 'payment_settled')?.entries).toEqual(
      expect.arrayContaining([expect.objectContaining({ account: expect.stringMatching(/^owner:ch_\S+:eth$/), amount: expect.stringMatching(/^-0\.0\d+ ETH$/) })]),
    );
    expect(run.output).toMatch(/the owner's balance is now 0\.0\d+ ETH/);
    // The scheduled conversion may have parked it in USDT since; either way the owner is owed it.
    const club = (await client.channels()).find((candidate) => candidate.alias === 'club');
    expect(club?.ownerBalance.length).toBeGreaterThan(0);
    for (const balance of club?.ownerBalance ?? []) expect(balance.amount).toMatch(/^\d+\.\d+ (ETH|USDT)$/);
  }, TEST_TIMEOUT_MS);

  it('fails with a clear message and a non-zero exit for an unknown channel', async () => {
    const run = await runCli(clone, ['pay', '--channel', 'nope', '--tier', '1', '--data-dir', dataDir]);
    expect(run.code).toBe(1);
    expect(run.output).toContain('No channel "nope". Known channels: ');
  }, TEST_TIMEOUT_MS);
});
