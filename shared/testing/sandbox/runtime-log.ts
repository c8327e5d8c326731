import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { createLogger, type Logger } from '../../logging/index.js';
import { createStepMemory, describeLogRecord, formatStep, type LogRecord } from './pipeline-steps.js';

export interface RuntimeLogOptions {
  /** Every JSON line is appended here; the file and its folder are created on the first line. */
  jsonFile?: string;
  /** Print the JSON lines to the terminal instead of step lines. Default false. */
  printJson?: boolean;
  /** The terminal. Default process.stdout, one line per call. */
  write?: (line: string) => void;
}

export interface RuntimeLog {
  logger: Logger;
  close(): void;
}

/**
 * The local runtime's logger: the same redacted JSON lines as production, kept in a file, while the
 * terminal shows one readable line per pipeline step (see `describeLogRecord`). Writes are
 * synchronous so nothing is lost when the process exits right after stopping.
 */
export function createRuntimeLog(options: RuntimeLogOptions = {}): RuntimeLog {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const memory = createStepMemory();
  let fd: number | undefined;

  const toFile = (line: string) => {
    if (!options.jsonFile) return;
    if (fd === undefined) {
      mkdirSync(path.dirname(options.jsonFile), { recursive: true });
      fd = openSync(options.jsonFile, 'a');
    }
    writeSync(fd, `${line}\n`);
  };

  const toTerminal = (line: string) => {
    if (options.printJson) return write(line);
    let record: LogRecord;
    try {
      record = JSON.parse(line) as LogRecord;
    } catch {
      return write(line);
    }
    const step = describeLogRecord(record, memory);
    if (step) write(formatStep(step));
  };

  const logger = createLogger({
    format: 'json',
    write: (line) => {
      toFile(line);
      toTerminal(line);
    },
  });
  return {
    logger,
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
