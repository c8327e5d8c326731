import { readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import * as z from 'zod';
import { DATA_DIR_LOCK_FILE } from './data-dir-lock.js';
import { readStateFile, writeFileAtomically } from './state-file.js';

/**
 * What `npm start` keeps in its data folder besides the database, so that a restart resumes where
 * the last run stopped: the chain, each simulator's state, the bus's unacked deliveries, the token's
 * address and the ports everything listened on (links and callback URLs handed out before a restart
 * name them).
 */
export interface SandboxStatePaths {
  folder: string;
  /** anvil's state (its `--load-state` JSON), saved before each chain change is acknowledged. */
  anvil: string;
  /** `ChainRecord`: the USDT-like token deployed on that chain. */
  chain: string;
  nowpayments: string;
  changenow: string;
  telegram: string;
  bus: string;
  /** `RememberedPorts`. */
  ports: string;
}

export function sandboxStatePaths(dataDir: string): SandboxStatePaths {
  const folder = path.join(dataDir, 'sandbox');
  return {
    folder,
    anvil: path.join(folder, 'anvil-state.json'),
    chain: path.join(folder, 'chain.json'),
    nowpayments: path.join(folder, 'nowpayments.json'),
    changenow: path.join(folder, 'changenow.json'),
    telegram: path.join(folder, 'telegram.json'),
    bus: path.join(folder, 'bus.json'),
    ports: path.join(folder, 'ports.json'),
  };
}

const port = z.number().int().min(1).max(65_535);
const RememberedPortsSchema = z.object({
  runtime: port.optional(),
  nowpayments: port.optional(),
  telegram: port.optional(),
  changenow: port.optional(),
  anvil: port.optional(),
});
export type RememberedPorts = z.infer<typeof RememberedPortsSchema>;

export function readRememberedPorts(file: string): RememberedPorts {
  return readStateFile(file, RememberedPortsSchema) ?? {};
}

export function writeRememberedPorts(file: string, ports: RememberedPorts): void {
  writeFileAtomically(file, `${JSON.stringify(ports, null, 2)}\n`);
}

const ChainRecordSchema = z.object({ usdtContract: z.string().regex(/^0x[0-9a-fA-F]{40}$/) });
export type ChainRecord = z.infer<typeof ChainRecordSchema>;

export function readChainRecord(file: string): ChainRecord | undefined {
  return readStateFile(file, ChainRecordSchema);
}

export function writeChainRecord(file: string, record: ChainRecord): void {
  writeFileAtomically(file, `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * `remembered` when it can be listened on now on 127.0.0.1, else 0 (any free port). A restart thus
 * gets its old URLs back unless something else took the port meanwhile.
 */
export async function reusablePort(remembered: number | undefined): Promise<number> {
  if (remembered === undefined) return 0;
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', () => resolve(0));
    probe.listen(remembered, '127.0.0.1', () => probe.close(() => resolve(remembered)));
  });
}

/** `--reset`: empties the data folder, except the lock of the runtime that is resetting it. */
export function clearDataDir(dataDir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dataDir);
  } catch {
    return; // no folder yet
  }
  for (const entry of entries) {
    if (entry !== DATA_DIR_LOCK_FILE) rmSync(path.join(dataDir, entry), { recursive: true, force: true });
  }
}
