import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as z from 'zod';

/**
 * Files the sandbox keeps its state in (the chain, the simulators, the bus) between runs of
 * `npm start`.
 *
 * A file is written whole to a temporary file beside it and renamed over it. The rename is atomic,
 * so a reader, or the next start after a kill -9, finds the old content or the new, never a torn
 * mix. Writes are synchronous: when a state change returns, its file is already written. There is
 * no fsync: this survives a killed process, not a power cut.
 */
export function writeFileAtomically(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/** A state file that exists but cannot be used. Fails the start: silently starting empty would lose the state. */
export class StateFileError extends Error {
  override name = 'StateFileError';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`The sandbox state file ${file} cannot be read (${reason}). Start over with \`npm start -- --reset\`, or restore the file.`);
  }
}

/**
 * The file's JSON checked against `schema`, or undefined when there is no file (a first start).
 *
 * @throws StateFileError when the file is not JSON or does not match the schema.
 */
export function readStateFile<T>(file: string, schema: z.ZodType<T>): T | undefined {
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new StateFileError(file, error instanceof Error ? error.message : 'not JSON');
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const where = result.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new StateFileError(file, `unexpected content at ${where}`);
  }
  return result.data;
}

/**
 * Writes `state` as JSON to `file` when it differs from what this writer wrote last. Callers save
 * after every change they make; reads that change nothing then cost one serialisation, no write.
 */
export function createStateFileWriter(file: string): { save(state: unknown): void } {
  let lastWritten: string | undefined;
  return {
    save(state) {
      const text = JSON.stringify(state);
      if (text === lastWritten) return;
      writeFileAtomically(file, text);
      lastWritten = text;
    },
  };
}
