#!/usr/bin/env node
// masam command-line entry: subcommand dispatch. The only layer that reads argv, env and files.
import { type Command, UsageError } from './command.js';
import { convert } from './commands/convert.js';
import { demo } from './commands/demo.js';
import { evaluate } from './commands/evaluate.js';
import { exportCommand } from './commands/export.js';
import { info } from './commands/info.js';
import { phantom } from './commands/phantom.js';
import { segment } from './commands/segment.js';
import { train } from './commands/train.js';
import { view } from './commands/view.js';
import { version } from './version.js';

const COMMANDS: readonly Command[] = [
  demo,
  info,
  convert,
  train,
  exportCommand,
  evaluate,
  phantom,
  segment,
  view,
];

function help(): string {
  const width = Math.max(8, ...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `masam ${version} — MA-SAM (SAM adapted to 3D medical images) on ONNX Runtime`,
    '',
    'Usage: masam <command> [options]     masam <command> --help',
    '',
    'Commands:',
    ...(lines.length > 0 ? lines : ['  (none yet)']),
    '',
    'Options: --help, --version',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
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
    const e = err as Error;
    console.error(`masam ${name}: ${e.name === 'Error' ? '' : `${e.name}: `}${e.message}`);
    if (process.env['MASAM_DEBUG']) console.error(e.stack);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
