// Runs a CLI command in-process for tests, with what it prints captured instead of shown.
import { mock } from 'node:test';
import type { Command } from '../src/cli/command.js';

/** A command's exit code and what it printed with console.log (`out`) and console.error (`err`). */
export interface CommandRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export async function runCommand(command: Command, args: string[]): Promise<CommandRun> {
  const log = mock.method(console, 'log', () => undefined);
  const error = mock.method(console, 'error', () => undefined);
  try {
    const code = await command.run(args);
    const text = (m: typeof log) => m.mock.calls.map((c) => String(c.arguments[0])).join('\n');
    return { code, out: text(log), err: text(error) };
  } finally {
    log.mock.restore();
    error.mock.restore();
  }
}
