// Every command's --help (train's aside, whose usage lives with the trainer) ends with one or two real
// examples, and each example is accepted as typed: run in an empty folder, it either does its job (exit 0)
// or stops at a file it names that is not there (exit 1) — never at a usage error (exit 2).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { COMMANDS, help, runCli } from './run_cli.js';

/** The example command lines at the end of a usage text (after its last "Examples:"), comments removed. */
function examplesOf(usage: string): string[][] {
  const lines = usage.trimEnd().split('\n');
  const at = lines.lastIndexOf('Examples:');
  if (at < 0) return [];
  return lines.slice(at + 1).map((line) => line.replace(/#.*$/, '').trim().split(/\s+/));
}

async function cli(argv: string[]): Promise<{ code: number; err: string }> {
  const log = mock.method(console, 'log', () => undefined);
  const error = mock.method(console, 'error', () => undefined);
  const write = mock.method(process.stderr, 'write', () => true); // progress bars
  try {
    const code = await runCli(argv);
    return { code, err: error.mock.calls.map((c) => c.arguments.join(' ')).join('\n') };
  } finally {
    log.mock.restore();
    error.mock.restore();
    write.mock.restore();
  }
}

describe('usage examples', () => {
  const home = process.cwd();
  const tmp = mkdtempSync(join(tmpdir(), 'masam-examples-'));
  before(() => process.chdir(tmp));
  after(() => {
    process.chdir(home);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('masam --help ends with examples', () => {
    assert.deepEqual(examplesOf(help()), [
      ['masam', 'demo'],
      ['masam', 'segment', '--help'],
    ]);
  });

  for (const command of COMMANDS.filter((c) => c.name !== 'train')) {
    it(`masam ${command.name} --help ends with one or two examples that parse`, async () => {
      const examples = examplesOf(command.usage);
      assert.ok(examples.length >= 1 && examples.length <= 2, `${examples.length} examples`);
      for (const words of examples) {
        assert.deepEqual(words.slice(0, 2), ['masam', command.name]);
        const { code, err } = await cli(words.slice(1));
        assert.notEqual(code, 2, `${words.join(' ')}: ${err}`);
      }
    });
  }
});
