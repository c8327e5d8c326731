import type { ApplyContext } from './deploy-step.js';
import { deployError } from './errors.js';

/** Shell-quotes one argument for the printed plan (the runner itself never goes through a shell). */
export const shellQuote = (value: string): string => (/^[A-Za-z0-9_./:=@,%+-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`);

/** The printed form of a command: what an operator would type. */
export const commandLine = (command: string, args: readonly string[]): string => [command, ...args.map(shellQuote)].join(' ');

const NOT_FOUND = /NOT_FOUND|not found|does not exist|was not found|could not be found/i;

/**
 * Runs gcloud (or firebase) through the context's runner and returns its stdout; a non-zero exit is a
 * `deploy_command_failed` naming the command (its arguments carry no secrets: secret values go in
 * through `input`) and the first line of stderr.
 */
export async function run(context: ApplyContext, command: string, args: readonly string[], input?: string): Promise<string> {
  const result = await context.commands.run(command, [...args], input === undefined ? undefined : { input });
  if (result.exitCode !== 0) {
    throw deployError('deploy_command_failed', `${command} ${args.slice(0, 4).join(' ')} failed: ${firstLine(result.stderr)}`, { exitCode: result.exitCode });
  }
  return result.stdout;
}

/** `gcloud … --format=json` read of a resource: its JSON, or undefined when gcloud says it does not exist. */
export async function describe<T>(context: ApplyContext, args: readonly string[]): Promise<T | undefined> {
  const result = await context.commands.run('gcloud', [...args, '--format=json']);
  if (result.exitCode !== 0) {
    if (NOT_FOUND.test(result.stderr)) return undefined;
    throw deployError('deploy_command_failed', `gcloud ${args.slice(0, 4).join(' ')} failed: ${firstLine(result.stderr)}`, { exitCode: result.exitCode });
  }
  const text = result.stdout.trim();
  return (text === '' ? undefined : JSON.parse(text)) as T | undefined;
}

function firstLine(text: string): string {
  return (text.split('\n').find((line) => line.trim() !== '') ?? '').trim().slice(0, 300);
}

const projectNumbers = new WeakMap<ApplyContext, Promise<string>>();

/** The project's number (service agents are named by it), read once per apply. */
export function projectNumber(context: ApplyContext): Promise<string> {
  let found = projectNumbers.get(context);
  if (!found) {
    found = describe<{ projectNumber: string }>(context, ['projects', 'describe', context.target.projectId]).then((project) => {
      if (!project?.projectNumber) throw deployError('deploy_command_failed', `project ${context.target.projectId} not found`);
      return project.projectNumber;
    });
    projectNumbers.set(context, found);
  }
  return found;
}

/** A client handle from the context, or the error that names what is missing. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw deployError('deploy_client_missing', `this step needs the ${what} client, which the apply context lacks`);
  return value;
}

/** Sorted, de-duplicated copy, for comparing member lists. */
export const sortedSet = (values: Iterable<string>): string[] => [...new Set(values)].sort();
export const sameSet = (a: Iterable<string>, b: Iterable<string>): boolean => JSON.stringify(sortedSet(a)) === JSON.stringify(sortedSet(b));
