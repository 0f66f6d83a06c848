// The set-up as a new user runs it: npm prints no warning for this project's configuration (an unknown
// .npmrc key made every `npx masam …` warn), and no dependency install script runs unreviewed; above all
// onnxruntime-node's, which downloads CUDA binaries (so `npm ci` stays offline; README "GPU").
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from './fixtures.js';

function npm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npm', args, { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(r.error, undefined, `npm not runnable: ${r.error?.message}`);
  return r;
}

describe('npm set-up', () => {
  it('npm reads the project configuration without a warning', () => {
    const r = npm(['config', 'list']);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /warn/i);
  });

  it("declines onnxruntime-node's install script (its CUDA download) and leaves none unreviewed", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      allowScripts?: Record<string, boolean>;
    };
    assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
    const r = npm(['install-scripts', 'ls']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /No packages with unreviewed install scripts/);
    assert.doesNotMatch(r.stderr, /warn/i);
  });
});
