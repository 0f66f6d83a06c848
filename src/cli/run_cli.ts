// The masam command line without its process wiring: the list of subcommands, `masam --help`, dispatch,
// and how failures are printed (`masam <command>: <message>`, exit 1; usage mistakes exit 2).
import { MasamError } from '../core/errors.js';
import { type Command, UsageError } from './command.js';
import { convert } from './commands/convert.js';
import { demo } from './commands/demo.js';
import { evaluate } from './commands/evaluate.js';
import { exportCommand } from './commands/export.js';
import { info } from './commands/info.js';
import { phantom } from './commands/phantom.js';
import { queue } from './commands/queue.js';
import { segment } from './commands/segment.js';
import { serve } from './commands/serve.js';
import { train } from './commands/train.js';
import { view } from './commands/view.js';
import { version } from './version.js';

/** Every subcommand, in the order `masam --help` lists them. */
export const COMMANDS: readonly Command[] = [
  demo,
  info,
  convert,
  train,
  exportCommand,
  evaluate,
  phantom,
  segment,
  view,
  serve,
  queue,
];

/** The text of `masam --help`. */
export function help(): string {
  const width = Math.max(8, ...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `masam ${version} — MA-SAM (SAM adapted to 3D medical images) on ONNX Runtime`,
    '',
    'Usage: masam <command> [options]     masam <command> --help',
    '',
    'Commands:',
    ...lines,
    '',
    'Options: --help, --version',
    '',
    'Examples:',
    '  masam demo',
    '  masam segment --help',
  ].join('\n');
}

/**
 * One failure as the user sees it: the message only (the error's class is an implementation detail);
 * errors that are not masam's own (a bug, or Node's) add how to see the stack trace.
 */
export function failureText(command: string, err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  if (process.env['MASAM_DEBUG']) return `masam ${command}: ${e.message}\n${e.stack ?? ''}`;
  const expected = e instanceof MasamError || (e as NodeJS.ErrnoException).code !== undefined;
  return `masam ${command}: ${e.message}${expected ? '' : '\n(an unexpected error: MASAM_DEBUG=1 prints its stack trace)'}`;
}

/** Runs `masam <argv>`; resolves to the exit code (0 done, 1 failed, 2 usage mistake). */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    console.error(help());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(version);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`masam: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`masam ${name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    console.error(failureText(name, err));
    return 1;
  }
}
