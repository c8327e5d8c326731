import { type ChildProcess, spawn } from 'node:child_process';
import { repositoryRoot } from '../../bus/topology.js';

/**
 * `npm start` as a child process in its own process group, the way an operator runs it in a
 * terminal: a signal to the group reaches npm, node and anvil alike (Ctrl-C, or kill -9 of
 * everything). For the restart and crash-recovery tests.
 */
export interface RuntimeProcess {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Provider settings `npm start` would otherwise take from the environment instead of simulating. */
const PROVIDER_VARIABLES = ['DATABASE_URL', 'PUBSUB_EMULATOR_HOST', 'NOWPAYMENTS_API_URL', 'TELEGRAM_BOT_TOKEN', 'CHANGENOW_API_URL', 'ETH_RPC_URL', 'PUBLIC_BASE_URL', 'PLATFORM_FEE_BPS'];

/** The zero-configuration environment (every provider simulated, embedded database), plus `overrides`. */
export function sandboxEnvironment(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of PROVIDER_VARIABLES) delete env[name];
  return { ...env, ...overrides };
}

export function spawnRuntime(dataDir: string, options: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): RuntimeProcess {
  const child = spawn('npm', ['start', '--', '--port', '0', '--data-dir', dataDir, ...(options.args ?? [])], {
    cwd: repositoryRoot(),
    env: options.env ?? sandboxEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exited };
}

/** Resolves with the runtime's URL once it printed its guide; throws with its output if it exits or takes longer. */
export async function waitUntilRuntimeUp(run: RuntimeProcess, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const url = /Health:\s+(http:\/\/\S+)\/healthz/.exec(run.output())?.[1];
    if (url && run.output().includes('Stop with Ctrl-C')) return url;
    if (run.child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${run.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Signals the whole process group and waits until every process in it is gone (npm may exit before the runtime has). */
export async function stopRuntime(run: RuntimeProcess, signal: 'SIGINT' | 'SIGKILL'): Promise<void> {
  const group = -(run.child.pid as number);
  try {
    process.kill(group, signal);
  } catch {
    return; // nothing left in the group
  }
  await run.exited;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      process.kill(group, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process group ${group} still alive 20 s after ${signal}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
