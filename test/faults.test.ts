// Fault tests of the CLI as a real process (issue 10): a full disk (a small tmpfs mounted by the test;
// skipped with the reason where it cannot be mounted) must make `segment`, `convert`, `evaluate`, `export`
// and `train --resume` exit non-zero with an error naming the path, with no partial and no temporary file
// and every previous file intact; `kill -9` of `segment` and `train` at several points must leave no
// partial file, and a rerun or `--resume` must give byte-identical outputs to an uninterrupted run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { loadMaSam } from '../src/api/model.js';
import { convert } from '../src/cli/commands/convert.js';
import { evaluate } from '../src/cli/commands/evaluate.js';
import { Rng } from '../src/core/rng.js';
import { ctPhantom } from '../src/data/phantom.js';
import { serializeNifti } from '../src/io/nifti.js';
import { readSafetensors } from '../src/io/safetensors.js';
import type { Volume } from '../src/io/volume.js';
import { clearCompileCache } from '../src/runtime/index.js';
import { runCommand } from './cli.js';
import { type MasamExit, killWhen, runMasam, startMasam } from './cli_process.js';
import { type Tmpfs, fillUntil, mountTmpfs, temporariesUnder } from './tmpfs.js';
import { TINY_OVERRIDES } from './tiny_model.js';

const TINY = { preset: 'small', img_size: 32, slices: 3, ...TINY_OVERRIDES } as const;

/** The inputs every test shares, on the ordinary disk: a model, a CT volume, labels and a dataset. */
interface Inputs {
  readonly model: string;
  readonly config: string;
  readonly ct: string;
  readonly pred: string;
  readonly gt: string;
  readonly dataset: string;
}

async function makeInputs(dir: string): Promise<Inputs> {
  const model = await loadMaSam({ config: { ...TINY, num_classes: 2 }, seed: 7 });
  const inputs: Inputs = {
    model: join(dir, 'model.onnx'),
    config: join(dir, 'config.json'),
    ct: join(dir, 'ct.nii.gz'),
    pred: join(dir, 'pred'),
    gt: join(dir, 'gt'),
    dataset: join(dir, 'dataset'),
  };
  await model.exportOnnx(inputs.model, { slices: 3, classNames: ['background', 'liver', 'spleen'] });
  writeFileSync(inputs.config, JSON.stringify({ ...TINY, num_classes: 2 }));
  const phantom = ctPhantom(new Rng(3), { size: [64, 64, 24] });
  writeFileSync(inputs.ct, serializeNifti(phantom.image, { gzip: true }));
  // A prediction: the phantom's labels with every fifth voxel cleared.
  const predicted: Volume = {
    ...phantom.label,
    data: (phantom.label.data as Uint8Array).map((v, i) => (i % 5 ? v : 0)),
  };
  for (const [folder, volume] of [
    [inputs.gt, phantom.label],
    [inputs.pred, predicted],
  ] as const) {
    mkdirSync(folder);
    writeFileSync(join(folder, 'case.nii.gz'), serializeNifti(volume, { gzip: true }));
  }
  const made = await runMasam([
    ...['phantom', '--out', inputs.dataset, '--modality', 'ct', '--cases', '2', '--test', '0'],
    ...['--seed', '4', '--size', '32x32x6'],
  ]);
  assert.equal(made.code, 0, made.stderr);
  return inputs;
}

/** `masam train` of the tiny model on `data` into `run`: `steps` steps, a checkpoint every `every`. */
function trainArgs(data: string, run: string, steps: number, every: number): string[] {
  return [
    ...[
      'train',
      '--data',
      data,
      '--out',
      run,
      '--init',
      'random',
      '--model-config',
      JSON.stringify(TINY_OVERRIDES),
    ],
    ...['--preset', 'small', '--img-size', '32', '--slices', '3', '--steps', String(steps), '--batch', '1'],
    ...['--warmup', '1', '--val-every', String(every), '--augment', 'none', '--seed', '1'],
  ];
}

/**
 * A checkpoint's tensors (weights and AdamW moments, as bytes) and training state, less the training
 * time, which a resumed run cannot share with an uninterrupted one.
 */
function checkpoint(path: string): { tensors: Map<string, Buffer>; state: unknown } {
  const { tensors, metadata } = readSafetensors(new Uint8Array(readFileSync(path)), path);
  const { seconds: _, ...state } = JSON.parse(metadata['masam.state'] ?? '{}') as Record<string, unknown>;
  const bytes = new Map(
    [...tensors].map(([name, t]) => [name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]),
  );
  return { tensors: bytes, state };
}

/** Every file under `dir` (relative path → bytes). */
function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const path = join(e.parentPath, e.name);
      files.set(path.slice(dir.length + 1), readFileSync(path));
    }
  }
  return files;
}

/** The failure a full disk must give: non-zero exit, the path named, no temporary file anywhere. */
function assertNoSpaceError(r: MasamExit, path: string | RegExp, fs: Tmpfs): void {
  assert.ok(r.code !== 0 && r.code !== null, `exit ${r.code} (signal ${r.signal}); stderr:\n${r.stderr}`);
  const named =
    typeof path === 'string'
      ? r.stderr.includes(`no space left on device while writing ${path}`)
      : path.test(r.stderr);
  assert.ok(named, `the error should name ${path}; stderr:\n${r.stderr}`);
  assert.deepEqual(temporariesUnder(fs.dir), []);
}

/** Writes `previous` files into `dir` (name → content) and returns the folder's snapshot. */
function withPrevious(dir: string, previous: Record<string, string>): Map<string, Buffer> {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(previous)) writeFileSync(join(dir, name), content);
  return snapshot(dir);
}

describe('disk full (tmpfs)', () => {
  const work = mkdtempSync(join(tmpdir(), 'masam-faults-'));
  const mounted = mountTmpfs(32 * 1024 * 1024);
  const skip = typeof mounted === 'string' ? `${mounted}: disk-full tests skipped` : false;
  if (skip) console.log(`# ${skip}`);
  const fs = mounted as Tmpfs;
  let inputs: Inputs;
  before(async () => {
    if (!skip) inputs = await makeInputs(work);
  });
  beforeEach(() => {
    if (!skip) rmSync(join(fs.dir, 'filler'), { force: true }); // each test fills the disk anew
  });
  after(async () => {
    if (!skip) fs.unmount();
    rmSync(work, { recursive: true, force: true });
    await clearCompileCache();
  });

  it('segment: the label map does not fit → exit 1 naming it, previous files intact', { skip }, async () => {
    const out = join(fs.dir, 'segment');
    const before = withPrevious(out, { 'ct.nii': 'previous labels', 'ct.labels.json': 'previous sidecar' });
    fillUntil(fs.dir, 4096);
    const r = await runMasam([
      'segment',
      '--model',
      inputs.model,
      '--input',
      inputs.ct,
      '--output',
      join(out, 'ct.nii'),
    ]);
    assertNoSpaceError(r, join(out, 'ct.nii'), fs);
    assert.deepEqual(snapshot(out), before);
  });

  it(
    'segment --probabilities: the probabilities do not fit → exit 1 naming them, no output replaced',
    { skip },
    async () => {
      const out = join(fs.dir, 'probabilities');
      const before = withPrevious(out, {
        'ct.nii.gz': 'previous labels',
        'ct.labels.json': 'previous sidecar',
        'ct.probabilities.nii.gz': 'previous probabilities',
      });
      fillUntil(fs.dir, 64 * 1024); // room for the labels and the sidecar, not for the probabilities
      const r = await runMasam([
        ...['segment', '--model', inputs.model, '--input', inputs.ct],
        ...['--output', join(out, 'ct.nii.gz'), '--probabilities'],
      ]);
      assertNoSpaceError(r, join(out, 'ct.probabilities.nii.gz'), fs);
      assert.deepEqual(snapshot(out), before);
    },
  );

  it('convert: exit 1 naming the output, previous file intact', { skip }, async () => {
    const out = join(fs.dir, 'convert');
    const before = withPrevious(out, { 'ct.nii': 'previous volume' });
    fillUntil(fs.dir, 16 * 1024);
    const r = await runMasam(['convert', inputs.ct, join(out, 'ct.nii')]);
    assertNoSpaceError(r, join(out, 'ct.nii'), fs);
    assert.deepEqual(snapshot(out), before);
  });

  it('evaluate --out: exit 1 naming a report file, the previous report whole', { skip }, async () => {
    const out = join(fs.dir, 'report');
    const before = withPrevious(out, {
      'metrics.csv': 'previous csv',
      'summary.json': 'previous summary',
      'report.md': 'previous report',
      'dice.png': 'previous chart',
    });
    fillUntil(fs.dir, 4096); // metrics.csv fits, the rest does not
    const r = await runMasam(['evaluate', '--pred', inputs.pred, '--gt', inputs.gt, '--out', out]);
    assertNoSpaceError(
      r,
      new RegExp(`no space left on device while writing ${out}/(summary\\.json|report\\.md|dice\\.png)`),
      fs,
    );
    assert.deepEqual(snapshot(out), before);
  });

  it('export: exit 1 naming the model, previous model intact', { skip }, async () => {
    const out = join(fs.dir, 'export');
    const before = withPrevious(out, { 'model.onnx': 'previous model' });
    fillUntil(fs.dir, 64 * 1024);
    const r = await runMasam(['export', '--config', inputs.config, '--out', join(out, 'model.onnx')]);
    assertNoSpaceError(r, join(out, 'model.onnx'), fs);
    assert.deepEqual(snapshot(out), before);
  });

  it(
    'train --resume on a nearly full disk: exit 1 naming the checkpoint, latest.safetensors byte-identical',
    { skip },
    async () => {
      const run = join(fs.dir, 'run');
      // A run stopped by Ctrl-C after its first checkpoint (it saves latest.safetensors and exits 130).
      const started = startMasam(trainArgs(inputs.dataset, run, 60, 3));
      const latest = join(run, 'latest.safetensors');
      while (!existsSync(latest) && started.child.exitCode === null)
        await new Promise((r) => setTimeout(r, 5));
      started.child.kill('SIGINT');
      const stopped = await started.exited;
      assert.equal(stopped.code, 130, stopped.stderr);
      const saved = readFileSync(latest);
      const checkpoints = ['latest.safetensors', 'best.safetensors'].filter((f) => existsSync(join(run, f)));
      const previous = new Map(checkpoints.map((f) => [f, readFileSync(join(run, f))]));
      fillUntil(fs.dir, 16 * 1024); // room for metrics.jsonl lines, not for a checkpoint
      const r = await runMasam(['train', '--out', run, '--resume']);
      assertNoSpaceError(
        r,
        new RegExp(`no space left on device while writing ${run}/(latest|best)\\.safetensors`),
        fs,
      );
      assert.ok(readFileSync(latest).equals(saved), 'latest.safetensors changed');
      for (const [f, bytes] of previous) assert.ok(readFileSync(join(run, f)).equals(bytes), `${f} changed`);
      readSafetensors(new Uint8Array(readFileSync(latest)), latest); // and a later resume can read it
    },
  );
});

describe('kill -9', () => {
  const work = mkdtempSync(join(tmpdir(), 'masam-kill-'));
  let inputs: Inputs;
  before(async () => {
    inputs = await makeInputs(work);
  });
  after(async () => {
    rmSync(work, { recursive: true, force: true });
    await clearCompileCache();
  });

  it('segment killed at several points leaves no partial file; a rerun gives the uninterrupted output', async (t) => {
    // Uncompressed: gzip headers carry the time of writing, and a larger file is longer in the writing.
    const names = ['ct.nii', 'ct.labels.json', 'ct.probabilities.nii'];
    const segmentInto = (out: string) => [
      ...['segment', '--model', inputs.model, '--input', inputs.ct],
      ...['--output', join(out, 'ct.nii'), '--probabilities'],
    ];
    const reference = join(work, 'reference');
    const t0 = performance.now();
    const whole = await runMasam(segmentInto(reference));
    const duration = performance.now() - t0;
    assert.equal(whole.code, 0, whole.stderr);
    const expected = snapshot(reference);
    assert.deepEqual([...expected.keys()].sort(), [...names].sort());

    const points: [string, (out: string) => () => boolean, number?][] = [
      ['while starting', () => () => false, 300],
      ['mid-run', () => () => false, duration * 0.35],
      [
        'while writing (a temporary file exists)',
        (out) => () => existsSync(out) && temporariesUnder(out).length > 0,
      ],
      ['as the label map appears', (out) => () => existsSync(join(out, 'ct.nii'))],
    ];
    for (const [i, [point, when, afterMs]] of points.entries()) {
      const out = join(work, `killed-${i}`);
      const ended = await killWhen(startMasam(segmentInto(out)), when(out), afterMs);
      const left = existsSync(out) ? snapshot(out) : new Map<string, Buffer>();
      t.diagnostic(
        `${point}: ${ended.killed ? 'killed' : `ended by itself (exit ${ended.code})`}; left ` +
          `${[...left.keys()].join(', ') || 'nothing'}`,
      );
      for (const [name, bytes] of left) {
        if (!names.includes(name)) continue; // a temporary file of the killed process: the rerun removes it
        assert.ok(bytes.equals(expected.get(name)!), `${point}: ${name} is partial or different`);
      }
      const rerun = await runMasam(segmentInto(out));
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.deepEqual(snapshot(out), expected, `${point}: the rerun differs or left temporary files`);
    }
  });

  it('convert and evaluate remove the temporary files a killed run left in their output folder', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a PID that no longer runs
    const converted = join(work, 'converted');
    const report = join(work, 'report');
    const stale = (dir: string, name: string) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `.${name}.${dead}.0123abcd.tmp`), 'partial');
    };
    stale(converted, 'ct.nii');
    stale(report, 'metrics.csv');
    assert.equal((await runCommand(convert, [inputs.ct, join(converted, 'ct.nii')])).code, 0);
    const args = ['--pred', inputs.pred, '--gt', inputs.gt, '--out', report];
    assert.equal((await runCommand(evaluate, args)).code, 0);
    assert.deepEqual(temporariesUnder(converted), []);
    assert.deepEqual(temporariesUnder(report), []);
  });

  it('train killed after its first checkpoint at several points: --resume ends with the uninterrupted weights', async (t) => {
    const [steps, every] = [12, 3];
    const reference = join(work, 'train-reference');
    const t0 = performance.now();
    const whole = await runMasam(trainArgs(inputs.dataset, reference, steps, every));
    const duration = performance.now() - t0;
    assert.equal(whole.code, 0, whole.stderr);

    const run = join(work, 'train-killed');
    const latest = join(run, 'latest.safetensors');
    const latestTemporary = () =>
      existsSync(run) && temporariesUnder(run).some((p) => p.startsWith('.latest.safetensors.'));
    const points: [string, string[], () => boolean, number?][] = [
      [
        'right after the first checkpoint',
        trainArgs(inputs.dataset, run, steps, every),
        () => existsSync(latest),
      ],
      ['while writing latest.safetensors', ['train', '--out', run, '--resume'], latestTemporary],
      ['mid-run', ['train', '--out', run, '--resume'], () => false, duration * 0.5],
    ];
    let kills = 0;
    for (const [point, args, when, afterMs] of points) {
      const ended = await killWhen(startMasam(args), when, afterMs);
      kills += ended.killed ? 1 : 0;
      t.diagnostic(
        `${point}: ${ended.killed ? 'killed' : `ended by itself (exit ${ended.code}): ${ended.stderr.slice(-300)}`}`,
      );
      if (!ended.killed) assert.equal(ended.code, 0, ended.stderr);
      // Whatever the moment, the checkpoint on disk is whole.
      readSafetensors(new Uint8Array(readFileSync(latest)), latest);
    }
    assert.ok(kills >= 1, 'no run was killed');
    const resumed = await runMasam(['train', '--out', run, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    for (const f of ['latest.safetensors', 'best.safetensors']) {
      assert.deepEqual(checkpoint(join(run, f)), checkpoint(join(reference, f)), `${f} differs`);
    }
    for (const f of ['model/encoder.onnx', 'model/decoder.onnx', 'masam.pth']) {
      assert.ok(readFileSync(join(run, f)).equals(readFileSync(join(reference, f))), `${f} differs`);
    }
  });
});
