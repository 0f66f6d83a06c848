// `masam train` through the CLI on a tiny model (img 32, 3 slices): options from a config file with flags
// over them, logs (progress lines when stderr is not a terminal, one line per validation, the same in
// train.log), resume to a new total (--steps) with each step once in metrics.jsonl, a run re-created from
// its run.json, a run stopped before its first checkpoint resumed from step 0, the lock, and --fold.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../src/cli/command.js';
import { phantom } from '../src/cli/commands/phantom.js';
import { train } from '../src/cli/commands/train.js';
import { clearCompileCache } from '../src/runtime/index.js';
import { runCommand } from './cli.js';
import { TINY_OVERRIDES } from './tiny_model.js';

const TINY = TINY_OVERRIDES;

interface Record {
  step: number;
  loss?: number;
  val_mean?: number;
  seconds?: number;
}

const metrics = (run: string): Record[] =>
  readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record);
const trainSteps = (run: string) =>
  metrics(run)
    .filter((r) => r.loss !== undefined)
    .map((r) => r.step);
const valSteps = (run: string) =>
  metrics(run)
    .filter((r) => r.val_mean !== undefined)
    .map((r) => r.step);

describe('masam train (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'masam-train-cli-'));
  const data = join(dir, 'data');
  const run = join(dir, 'run');
  before(async () => {
    const made = await runCommand(phantom, [
      ...[
        '--out',
        data,
        '--modality',
        'ct',
        '--cases',
        '5',
        '--test',
        '0',
        '--seed',
        '4',
        '--size',
        '24x24x6',
      ],
    ]);
    assert.equal(made.code, 0, made.err);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await clearCompileCache();
  });

  it('trains from a config file with flags over it, printing progress and validation lines, also into train.log', async () => {
    const config = join(dir, 'train.json');
    writeFileSync(
      config,
      JSON.stringify({
        data,
        init: 'random',
        modelConfig: TINY,
        imgSize: 32,
        slices: 3,
        steps: 3,
        batch: 1,
        lr: 0.003,
        warmup: 1,
        seed: 1,
        valEvery: 2,
        logEvery: 2,
        augment: 'none',
      }),
    );
    const r = await runCommand(train, ['--config', config, '--out', run, '--steps', '4', '--threads', '1']);
    assert.equal(r.code, 0, r.err);
    const info = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
    assert.equal(info.training.steps, 4, 'the flag overrides the file');
    assert.equal(info.training.threads, 1);
    assert.deepEqual(trainSteps(run), [1, 2, 3, 4]);
    assert.deepEqual(valSteps(run), [2, 4]);
    const progress = r.err.split('\n').filter((l) => l.startsWith('step ') && l.includes('steps/s'));
    assert.deepEqual(
      progress.map((l) => l.split(' ')[1]),
      ['2/4', '4/4'],
      'a progress line every 2 steps, counted as metrics.jsonl counts',
    );
    assert.match(progress[1]!, /loss \d\.\d{4} {2}lr \d\.\d{2}e-\d {2}[\d.]+ steps\/s {2}ETA 0:00:00$/);
    assert.match(r.err, /step 4\/4 {2}validation Dice \d\.\d{4} {2}best \d\.\d{4} \(step [24]\)/);
    const log = readFileSync(join(run, 'train.log'), 'utf8');
    for (const line of r.err.split('\n').filter((l) => l.startsWith('step ') || l.startsWith('done')))
      assert.ok(log.includes(line), `train.log lacks: ${line}`);
    for (const f of [
      'latest.safetensors',
      'best.safetensors',
      'model/encoder.onnx',
      'model/decoder.onnx',
      'masam.pth',
      'curves.png',
    ])
      assert.ok(existsSync(join(run, f)), f);
  });

  it('re-creates a run from its run.json: the same losses step for step', async () => {
    const again = join(dir, 'again');
    const r = await runCommand(train, ['--config', join(run, 'run.json'), '--out', again]);
    assert.equal(r.code, 0, r.err);
    const losses = (p: string) =>
      metrics(p)
        .filter((m) => m.loss !== undefined)
        .map((m) => m.loss);
    assert.deepEqual(losses(again), losses(run));
  });

  it('trains the same with 2 data-parallel workers over 2 micro-batches as in one process', async () => {
    const losses = (p: string) =>
      metrics(p)
        .filter((m) => m.loss !== undefined)
        .map((m) => m.loss!);
    const base = ['--config', join(run, 'run.json'), '--steps', '3', '--batch', '2'];
    const one = await runCommand(train, [...base, '--out', join(dir, 'one')]);
    assert.equal(one.code, 0, one.err);
    const two = await runCommand(train, [
      ...base,
      ...['--out', join(dir, 'two'), '--workers', '2', '--micro-batch', '1', '--recompute', 'blocks'],
    ]);
    assert.equal(two.code, 0, two.err);
    assert.match(two.err, /2 data-parallel workers on cpu, cpu/);
    const [a, b] = [losses(join(dir, 'one')), losses(join(dir, 'two'))];
    assert.equal(b.length, 3);
    for (const [i, l] of a.entries())
      assert.ok(Math.abs(b[i]! - l) <= 1e-5 * l, `step ${i + 1}: ${b[i]} vs ${l}`);
  });

  it('resumes to a new total with --steps, saying from which step, each step once in metrics.jsonl', async () => {
    const refused = runCommand(train, ['--out', run, '--resume', '--batch', '2']);
    await assert.rejects(refused, /--batch cannot change when resuming \(the run was made with 1\)/);
    const resume = ['--out', run, '--resume', '--steps', '6', '--log-classes', '--recompute', 'none'];
    const r = await runCommand(train, resume);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      /resuming from step 4 of 6 \(was 4: the learning-rate schedule now decays over the new total\)/,
    );
    assert.deepEqual(trainSteps(run), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(valSteps(run), [2, 4, 6]);
    const seconds = metrics(run)
      .filter((m) => m.seconds !== undefined)
      .map((m) => m.seconds!);
    assert.deepEqual(
      [...seconds].sort((a, b) => a - b),
      seconds,
      '`seconds` continues across the resume',
    );
    assert.match(r.err, /step 6\/6 {2}validation Dice .*\| spleen \d\.\d{4} {2}right_kidney/);
    const { training } = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
    assert.deepEqual([training.steps, training.recompute], [6, 'none']);
    await assert.rejects(
      runCommand(train, ['--out', run, '--resume', '--steps', '5']),
      /is at step 6: --steps 5 cannot undo steps already taken/,
    );
    assert.equal(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).training.steps, 6, 'run.json kept');
  });

  it('resumes a run stopped before its first checkpoint from step 0, after a kill (stale lock, temporaries)', async () => {
    const again = join(dir, 'again');
    for (const f of ['latest.safetensors', 'best.safetensors', 'model', 'masam.pth'])
      rmSync(join(again, f), { recursive: true });
    writeFileSync(join(again, 'metrics.jsonl'), '{"step": 1, "loss": 9}\n{"step": 2, "lo', { flag: 'a' });
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => child.on('exit', resolve));
    writeFileSync(
      join(again, 'train.lock'),
      JSON.stringify({ pid: child.pid, host: hostname(), since: 'x' }),
    );
    writeFileSync(join(again, `.latest.safetensors.${child.pid}.0badc0de.tmp`), '');
    const r = await runCommand(train, ['--out', again, '--resume', '--steps', '2']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, new RegExp(`took over the lock of PID ${child.pid}`));
    assert.match(r.err, /removed 1 temporary file/);
    assert.match(r.err, /no checkpoint yet in .*: starting from step 0 of 2/);
    assert.deepEqual(trainSteps(again), [1, 2]);
    assert.match(readFileSync(join(again, 'train.log'), 'utf8'), /note: took over the lock of PID/);
    assert.equal(existsSync(join(again, 'train.lock')), false, 'the lock is released');
  });

  it('refuses a folder another live process trains in, naming its PID', async () => {
    writeFileSync(
      join(run, 'train.lock'),
      JSON.stringify({ pid: process.pid, host: hostname(), since: 'x' }),
    );
    try {
      await assert.rejects(
        runCommand(train, ['--out', run, '--resume']),
        new RegExp(`in use by another masam train \\(PID ${process.pid}`),
      );
    } finally {
      rmSync(join(run, 'train.lock'));
    }
  });

  it("validates on fold k of splits_final.json, creating nnU-Net's split in the dataset when missing", async () => {
    const out = join(dir, 'fold');
    const r = await runCommand(train, [
      // inline JSON to --config: the model overrides, as before --model-config existed
      ...['--data', data, '--out', out, '--init', 'random', '--config', JSON.stringify(TINY)],
      ...[
        '--img-size',
        '32',
        '--slices',
        '3',
        '--steps',
        '1',
        '--batch',
        '1',
        '--fold',
        '3',
        '--threads',
        '1',
      ],
    ]);
    assert.equal(r.code, 0, r.err);
    const splitsFile = join(data, 'splits_final.json');
    assert.match(r.err, /fold 3 of .*splits_final\.json \(created.*\): 4 training, 1 validation cases/);
    const splits = JSON.parse(readFileSync(splitsFile, 'utf8')) as { train: string[]; val: string[] }[];
    assert.equal(splits.length, 5);
    assert.deepEqual(
      splits.map((s) => s.val.length),
      [1, 1, 1, 1, 1],
    );
    const info = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    assert.equal(info.training.fold, 3);
    assert.equal(info.config.embed_dim, TINY.embed_dim);
  });

  it('checks the dataset first with --check, stopping on a problem before touching the run folder', async () => {
    const bad = join(dir, 'bad');
    const made = await runCommand(phantom, [
      ...[
        '--out',
        bad,
        '--modality',
        'ct',
        '--cases',
        '2',
        '--test',
        '0',
        '--seed',
        '4',
        '--size',
        '16x16x4',
      ],
    ]);
    assert.equal(made.code, 0, made.err);
    const json = JSON.parse(readFileSync(join(bad, 'dataset.json'), 'utf8'));
    delete json.labels.left_adrenal_gland; // value 13 stays in the label files
    writeFileSync(join(bad, 'dataset.json'), JSON.stringify(json));
    const out = join(dir, 'checked');
    const r = await runCommand(train, ['--data', bad, '--out', out, '--init', 'random', '--check']);
    assert.equal(r.code, 1);
    assert.match(r.err, /labelsTr\/ct_00\d\.nii\.gz: .*13/);
    assert.equal(existsSync(out), false);
  });

  it('resumes a run that stopped on a dataset error once the dataset is fixed (from step 0)', async () => {
    const label = join(data, 'labelsTr', 'ct_000.nii.gz');
    const good = readFileSync(label);
    writeFileSync(label, readFileSync(join(dir, 'bad', 'labelsTr', 'ct_000.nii.gz'))); // another grid
    const out = join(dir, 'failed');
    const args = ['--data', data, '--out', out, '--init', 'random', '--model-config', JSON.stringify(TINY)];
    args.push('--img-size', '32', '--slices', '3', '--steps', '2', '--batch', '1', '--threads', '1');
    try {
      await assert.rejects(runCommand(train, args), /ct_000/);
    } finally {
      writeFileSync(label, good);
    }
    assert.ok(existsSync(join(out, 'run.json')));
    const r = await runCommand(train, ['--out', out, '--resume']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /no checkpoint yet in .*: starting from step 0 of 2/);
    assert.deepEqual(trainSteps(out), [1, 2]);
  });

  it('refuses a missing dataset before creating the run folder', async () => {
    const out = join(dir, 'never');
    await assert.rejects(
      runCommand(train, ['--data', join(dir, 'nowhere'), '--out', out, '--init', 'random']),
      /no dataset\.json/,
    );
    assert.equal(existsSync(out), false);
  });

  it('ends its --help with real examples, each accepted as typed (in an empty folder: a missing file, not a usage error)', async () => {
    const home = process.cwd();
    process.chdir(mkdtempSync(join(dir, 'examples-')));
    try {
      for (const example of train.usage.slice(train.usage.lastIndexOf('Examples:')).split('\n').slice(1)) {
        const words = example.trim().split(/\s+/);
        await assert.rejects(runCommand(train, words.slice(2)), (err: Error) => !(err instanceof UsageError));
      }
    } finally {
      process.chdir(home);
    }
    assert.match(
      train.usage,
      /Examples:\n {2}masam train --data .* --fold 0\n {2}masam train --out .* --resume --steps \d+$/,
    );
  });
});
