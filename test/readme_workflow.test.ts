// The README's workflow, run as written: the `npx masam …` lines of its "The workflow end to end, on a
// phantom" block (phantom → train → segment the imagesTs folder → evaluate against labelsTs), each through
// the CLI's own dispatch (runCli) in an empty folder, so the README's relative paths hold. Only numbers
// that would take too long are made tiny, each replacing the value of a flag the README line has: phantom
// --cases 16 → 3 and --size 128x128x48 → 32x32x8; train --steps 3000 → 4, --warmup 100 → 1 and
// --val-every 250 → 2. Everything else (paths, --preset small, --batch, seeds, segment's folder in and
// out, evaluate's pairing with labelsTs) is the README's text.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { runCli } from '../src/cli/run_cli.js';
import { clearCompileCache } from '../src/runtime/index.js';
import { REPO_ROOT } from './fixtures.js';

const HEADING = '## The workflow end to end, on a phantom';

/** Flag values made tiny, per command: the README's value → the test's. */
const TINY: Readonly<Record<string, Readonly<Record<string, [string, string]>>>> = {
  phantom: { '--cases': ['16', '3'], '--size': ['128x128x48', '32x32x8'] },
  train: { '--steps': ['3000', '4'], '--warmup': ['100', '1'], '--val-every': ['250', '2'] },
};

/** The `npx masam …` lines of the first bash block under HEADING, as argument lists after `masam`. */
function readmeCommands(): string[][] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`${HEADING}\n`);
  assert.ok(at >= 0, `README.md has no '${HEADING}' section`);
  const block = /```bash\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, `no bash block under '${HEADING}'`);
  return block[1]!
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.startsWith('npx masam '))
    .map((line) => line.split(/\s+/).slice(2));
}

/** `args` with the TINY values of its command; each must replace what the README says. */
function tiny(args: readonly string[]): string[] {
  const out = [...args];
  for (const [flag, [readmeValue, value]] of Object.entries(TINY[args[0]!] ?? {})) {
    const i = out.indexOf(flag);
    assert.ok(
      i > 0 && out[i + 1] === readmeValue,
      `README's masam ${args[0]} no longer says ${flag} ${readmeValue}`,
    );
    out[i + 1] = value;
  }
  return out;
}

async function quietly(argv: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const keep = (...a: unknown[]) => {
    lines.push(a.join(' '));
  };
  const log = mock.method(console, 'log', keep);
  const error = mock.method(console, 'error', keep);
  const write = mock.method(process.stderr, 'write', () => true); // progress bars
  try {
    return { code: await runCli(argv), output: lines.join('\n') };
  } finally {
    log.mock.restore();
    error.mock.restore();
    write.mock.restore();
  }
}

describe("the README's workflow", () => {
  const home = process.cwd();
  const tmp = mkdtempSync(join(tmpdir(), 'masam-readme-'));
  before(() => process.chdir(tmp));
  after(async () => {
    process.chdir(home);
    rmSync(tmp, { recursive: true, force: true });
    await clearCompileCache();
  });

  it('phantom → train → segment imagesTs → evaluate against labelsTs: every step exits 0, every case pairs', async () => {
    const commands = readmeCommands();
    assert.deepEqual(
      commands.map((c) => c[0]),
      ['phantom', 'train', 'segment', 'evaluate'],
    );
    for (const args of commands) {
      const { code, output } = await quietly(tiny(args));
      assert.equal(code, 0, `masam ${tiny(args).join(' ')}\n${output}`);
    }
    // evaluate's --gt and --out, as the README names them.
    const evaluateArgs = commands[3]!;
    const gt = evaluateArgs[evaluateArgs.indexOf('--gt') + 1]!;
    const report = evaluateArgs[evaluateArgs.indexOf('--out') + 1]!;
    const summary = JSON.parse(readFileSync(join(report, 'summary.json'), 'utf8')) as { caseIds: string[] };
    const labelled = readdirSync(gt)
      .filter((n) => n.endsWith('.nii.gz'))
      .map((n) => n.replace(/\.nii\.gz$/, ''))
      .sort();
    assert.equal(labelled.length, 2);
    assert.deepEqual([...summary.caseIds].sort(), labelled);
  });
});
