// `masam serve` as a command: its option checks, and a real process serving the demo model until SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
import { runCli } from '../run_cli.js';

async function cli(argv: string[]): Promise<{ code: number; err: string }> {
  const error = mock.method(console, 'error', () => undefined);
  try {
    const code = await runCli(argv);
    return { code, err: error.mock.calls.map((c) => c.arguments.join(' ')).join('\n') };
  } finally {
    error.mock.restore();
  }
}

describe('masam serve (command)', () => {
  it('refuses to listen beyond loopback without --token, and names a missing models folder', async () => {
    const open = await cli(['serve', '--models', 'models/demo', '--host', '0.0.0.0']);
    assert.equal(open.code, 2);
    assert.match(open.err, /--host 0\.0\.0\.0 .*--token/);
    assert.equal((await cli(['serve'])).code, 2);
    const missing = await cli(['serve', '--models', 'no/such/dir']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no\/such\/dir: no such folder/);
  });

  it('serves the demo model from a process until SIGTERM', async () => {
    const store = mkdtempSync(join(tmpdir(), 'masam-serve-cli-'));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'serve',
        '--models',
        'models/demo',
        '--port',
        '0',
        '--datastore',
        store,
        '--threads',
        '1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      const url = await new Promise<string>((ok, fail) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /masam serve: (http:\/\/\S+)/.exec(out);
          if (m) ok(m[1]!);
        });
        child.once('exit', (code) => fail(new Error(`exited ${code} before listening: ${out}`)));
      });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const info = (await (await fetch(`${url}/info/`)).json()) as {
        models: Record<string, { type: string }>;
      };
      assert.deepEqual(Object.keys(info.models), ['demo']);
      assert.equal(info.models['demo']!.type, 'segmentation');
      const exited = new Promise<number | null>((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(store, { recursive: true, force: true });
    }
  });
});
