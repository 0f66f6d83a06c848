#!/usr/bin/env node
// masam command-line entry (the package's bin): runs run_cli.ts on this process's arguments. The only
// layer that reads argv, env and files.
import { runCli } from './run_cli.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
