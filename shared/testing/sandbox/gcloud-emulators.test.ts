import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type RunningEmulator,
  hasGcloud,
  isProcessGroupAlive,
  pubsubEmulatorSettings,
  startPubsubEmulator,
} from './gcloud-emulators.js';

/** Pids whose command line contains `text` (Linux /proc). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const skipReason = hasGcloud ? '' : ' [skipped: gcloud not installed]';
if (!hasGcloud) console.warn('gcloud-emulators.test.ts: gcloud is not installed, skipping the Pub/Sub emulator smoke test');

describe.skipIf(!hasGcloud)(`startPubsubEmulator${skipReason}`, () => {
  let emulator: RunningEmulator | undefined;
  afterAll(() => emulator?.stop());

  it('serves REST and the client library on a free localhost port, and leaves no process behind after stop()', async () => {
    emulator = await startPubsubEmulator({ projectId: 'demo-smoke' });
    expect(emulator.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(isProcessGroupAlive(emulator.pid)).toBe(true);

    const topic = `http://${emulator.host}/v1/projects/demo-smoke/topics/smoke-topic`;
    const created = await fetch(topic, { method: 'PUT' });
    expect(created.status).toBe(200);
    expect(await created.json()).toEqual({ name: 'projects/demo-smoke/topics/smoke-topic' });
    const pubsub = new PubSub(pubsubEmulatorSettings(emulator));
    const [topics] = await pubsub.getTopics();
    expect(topics.map((topic) => topic.name)).toEqual(['projects/demo-smoke/topics/smoke-topic']);
    await pubsub.close();

    await emulator.stop();
    expect(isProcessGroupAlive(emulator.pid)).toBe(false);
    await expect(fetch(topic, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    await expect(emulator.stop()).resolves.toBeUndefined();
  });

  it('rejects with the emulator output when its port is taken, and leaves no process behind', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as { port: number };
    try {
      await expect(startPubsubEmulator({ port })).rejects.toThrow(
        new RegExp(`could not bind 127\\.0\\.0\\.1:${port}[^]*BindException`),
      );
      expect(processesMentioning(`--port=${port}`)).toEqual([]);
    } finally {
      squatter.close();
    }
  });
});
