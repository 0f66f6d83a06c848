// `masam` itself: exit codes without a command and with --help, and failures printed as
// `masam <command>: <message>` without internal error class names or temporary file names.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, mock } from 'node:test';
import { fixturePath } from '../../test/fixtures.js';
import { failureText, runCli } from './run_cli.js';

/** runCli with console output captured. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const log = mock.method(console, 'log', () => undefined);
  const error = mock.method(console, 'error', () => undefined);
  try {
    const code = await runCli(argv);
    const text = (m: typeof log) => m.mock.calls.map((c) => c.arguments.join(' ')).join('\n');
    return { code, out: text(log), err: text(error) };
  } finally {
    log.mock.restore();
    error.mock.restore();
  }
}

describe('masam (the command line)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'masam-cli-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('without a command prints the help as a usage error (exit 2); --help exits 0', async () => {
    const bare = await cli([]);
    assert.equal(bare.code, 2);
    assert.match(bare.err, /Usage: masam <command>/);
    assert.equal(bare.out, '');
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /Usage: masam <command>/);
    assert.equal((await cli(['nonsense'])).code, 2);
  });

  it('prints a bad file as `masam <command>: <message>`, without the error class', async () => {
    const bad = join(tmp, 'bad.nii');
    writeFileSync(bad, new Uint8Array(400));
    const { code, err } = await cli(['info', bad]);
    assert.equal(code, 1);
    assert.ok(err.startsWith(`masam info: ${bad}: `), err);
    assert.doesNotMatch(err, /FormatError|MasamError|Error:/);
  });

  it('an output that cannot be written is named, never its temporary file', async () => {
    const blocker = join(tmp, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const src = fixturePath('nifti', 'labels_uint8.nii.gz');
    const { code, err } = await cli(['convert', src, join(blocker, 'x.nii.gz')]);
    assert.equal(code, 1);
    assert.match(err, /^masam convert: /);
    assert.match(err, /a-file/);
    assert.doesNotMatch(err, /\.tmp\b/);
  });

  it('a missing file is just named; a bug says how to see its stack trace; MASAM_DEBUG shows it', async () => {
    const { code, err } = await cli(['info', join(tmp, 'missing.nii.gz')]);
    assert.equal(code, 1);
    assert.match(err, /^masam info: .*missing\.nii\.gz/);
    assert.doesNotMatch(err, /MASAM_DEBUG/);
    const bug = new TypeError("Cannot read properties of undefined (reading 'shape')");
    assert.equal(
      failureText('segment', bug),
      "masam segment: Cannot read properties of undefined (reading 'shape')\n" +
        '(an unexpected error: MASAM_DEBUG=1 prints its stack trace)',
    );
    process.env['MASAM_DEBUG'] = '1';
    try {
      assert.ok(failureText('segment', bug).includes(bug.stack!));
    } finally {
      delete process.env['MASAM_DEBUG'];
    }
  });
});
