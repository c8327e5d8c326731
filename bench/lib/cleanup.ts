/**
 * Every bench owns child processes and throw-away databases that must not outlive it, whether it
 * ends normally, throws, or is interrupted (Ctrl-C, or bench/run.ts passing on a SIGTERM). Each
 * resource registers its release here; `runBench` releases them in reverse order in a finally, and
 * a signal runs the same releases before exiting. The last net is synchronous: on 'exit', process
 * groups still registered are SIGKILLed (a database cannot be dropped synchronously, hence the
 * signal handlers).
 */

type Release = () => Promise<void> | void;

const releases: Array<{ label: string; release: Release }> = [];
const liveGroups = new Set<number>();
let releasing: Promise<void> | undefined;

/** Registers a release to run at the end (last registered, first released). Returns an unregister function. */
export function onCleanup(label: string, release: Release): () => void {
  const entry = { label, release };
  releases.push(entry);
  return () => {
    const index = releases.indexOf(entry);
    if (index !== -1) releases.splice(index, 1);
  };
}

/** Remembers a process group to SIGKILL should the bench exit without stopping it. */
export function trackProcessGroup(pgid: number): () => void {
  liveGroups.add(pgid);
  return () => liveGroups.delete(pgid);
}

export function killProcessGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** Runs every registered release once, newest first; a failing release is reported, not fatal. */
export function releaseAll(): Promise<void> {
  releasing ??= (async () => {
    while (releases.length > 0) {
      const entry = releases.pop();
      if (!entry) break;
      try {
        await entry.release();
      } catch (error) {
        console.error(`cleanup of ${entry.label} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  })();
  return releasing;
}

let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) killProcessGroup(pgid, 'SIGKILL');
  });
  // Output piped into a reader that went away (`| head`) must not kill the bench before it cleans up.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  // A crash outside main's promise chain (an event handler, a timer) still releases everything.
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    process.once(event, (error: unknown) => {
      try {
        console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      } catch {
        // stderr is gone
      }
      void releaseAll().finally(() => process.exit(1));
    });
  }
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping child processes and dropping throw-away databases…`);
      void releaseAll().finally(() => process.exit(code));
    });
  }
}

/**
 * Runs a bench's main function with cleanup: releases everything registered in a finally, prints
 * an error's message and sets a non-zero exit code when it throws (the bench could not run; a
 * figure missing its goal is never an error).
 */
export async function runBench(main: () => Promise<void>): Promise<void> {
  installHandlers();
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  } finally {
    await releaseAll();
  }
}
