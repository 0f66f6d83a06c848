// The shape of one CLI subcommand. Each lives in commands/<name>.ts and is listed in main.ts.
import { type ParseArgsConfig, parseArgs } from 'node:util';

export interface Command {
  /** Subcommand name, e.g. 'info'. */
  readonly name: string;
  /** One line for `masam --help`. */
  readonly summary: string;
  /** Full usage text for `masam <name> --help`. */
  readonly usage: string;
  /** Runs the command with its own arguments (after the subcommand name); resolves to an exit code. */
  run(args: string[]): Promise<number>;
}

/**
 * `usage` followed by an "Examples:" section: one or two real command lines, as a user would type them
 * (`masam <name> …`; usage_examples.test.ts runs each one to check that it parses).
 */
export function withExamples(usage: string, examples: readonly string[]): string {
  return [usage, '', 'Examples:', ...examples.map((e) => `  ${e}`)].join('\n');
}

/** A user mistake on the command line: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** node's parseArgs, with its errors (unknown option, missing value, stray positional) as UsageErrors. */
export function parseCommandArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
