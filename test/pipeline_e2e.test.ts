// The whole job through the CLI on phantoms, CI-sized: phantom → train a tiny MA-SAM → segment →
// evaluate; and bad inputs get clear errors without leaving partial outputs.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { evaluate } from '../src/cli/commands/evaluate.js';
import { exportCommand } from '../src/cli/commands/export.js';
import { phantom } from '../src/cli/commands/phantom.js';
import { segment } from '../src/cli/commands/segment.js';
import { train } from '../src/cli/commands/train.js';
import { clearCompileCache } from '../src/runtime/index.js';

/** A tiny MA-SAM (same architecture as `small`) that trains in seconds. */
const TINY = JSON.stringify({
  depth: 2,
  global_attn_indexes: [1],
  window_size: 2,
  embed_dim: 32,
  num_heads: 2,
  out_chans: 256,
  adapter_channels: 8,
  fact_rank: 4,
  decoder_mlp_dim: 128,
  iou_head_hidden_dim: 32,
});

/** Runs a command with console output captured (kept quiet in the test log). */
async function quiet(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const [log, error, write] = [console.log, console.error, process.stderr.write.bind(process.stderr)];
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  console.error = (...a: unknown[]) => lines.push(a.join(' '));
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return { code: await fn(), out: lines.join('\n') };
  } finally {
    [console.log, console.error, process.stderr.write] = [log, error, write];
  }
}

/** A two-case CT phantom dataset (seed 4) of the given size, for the bad-input tests. */
async function twoCasePhantom(out: string, size: string): Promise<void> {
  const r = await quiet(() =>
    phantom.run([
      '--out',
      out,
      '--modality',
      'ct',
      '--cases',
      '2',
      '--test',
      '0',
      '--seed',
      '4',
      '--size',
      size,
    ]),
  );
  assert.equal(r.code, 0, r.out);
}

describe('phantom → train → segment → evaluate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'masam-e2e-'));
  const data = join(dir, 'data');
  const run = join(dir, 'run');
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await clearCompileCache();
  });

  it('trains a tiny model (its Dice loss falls by > 0.1), then segments and evaluates', async () => {
    // Four copies of one phantom case: validation then measures how well the model fits what it trained
    // on (generalising from a handful of phantoms takes thousands of steps, not CI seconds).
    const made = await quiet(() =>
      phantom.run([
        '--out',
        data,
        '--modality',
        'ct',
        '--cases',
        '1',
        '--test',
        '1',
        '--seed',
        '3',
        '--size',
        '64x64x10',
      ]),
    );
    assert.equal(made.code, 0, made.out);
    for (const n of ['001', '002', '003']) {
      writeFileSync(
        join(data, 'imagesTr', `ct_${n}_0000.nii.gz`),
        readFileSync(join(data, 'imagesTr', 'ct_000_0000.nii.gz')),
      );
      writeFileSync(
        join(data, 'labelsTr', `ct_${n}.nii.gz`),
        readFileSync(join(data, 'labelsTr', 'ct_000.nii.gz')),
      );
    }
    const datasetJson = JSON.parse(readFileSync(join(data, 'dataset.json'), 'utf8')) as {
      numTraining: number;
    };
    datasetJson.numTraining = 4;
    writeFileSync(join(data, 'dataset.json'), JSON.stringify(datasetJson));
    const args = ['--data', data, '--out', run, '--init', 'random', '--preset', 'small', '--config', TINY];
    args.push('--img-size', '64', '--slices', '3', '--steps', '150', '--batch', '2', '--lr', '0.003');
    args.push('--warmup', '10', '--val-every', '50', '--augment', 'none', '--seed', '1');
    const trained = await quiet(() => train.run(args));
    assert.equal(trained.code, 0, trained.out);
    for (const f of [
      'run.json',
      'metrics.jsonl',
      'latest.safetensors',
      'best.safetensors',
      'model.onnx',
      'masam.pth',
      'curves.png',
    ]) {
      assert.ok(existsSync(join(run, f)), f);
    }
    const records = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { dice?: number; val_dice?: number[] });
    const diceLoss = records.filter((r) => r.dice !== undefined).map((r) => r.dice!);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [early, late] = [mean(diceLoss.slice(0, 20)), mean(diceLoss.slice(-20))];
    console.log(
      'dice loss',
      early,
      late,
      records.filter((r) => r.val_dice).map((r) => r.val_dice![5]),
    );
    assert.ok(late < early - 0.1, `Dice loss ${early.toFixed(3)} → ${late.toFixed(3)}`);
    assert.equal(records.filter((r) => r.val_dice).length, 3, 'a validation every 50 steps');

    const seg = join(dir, 'seg');
    const segmented = await quiet(() =>
      segment.run(['--model', run, '--input', join(data, 'imagesTs'), '--output', seg]),
    );
    assert.equal(segmented.code, 0, segmented.out);
    const report = join(dir, 'report');
    // imagesTs/{case}_0000.nii.gz ↔ labelsTs/{case}.nii.gz: rename the prediction to the case id
    const [predFile] = readdirSync(seg).filter((f) => f.endsWith('.nii.gz'));
    const caseId = predFile!.replace(/_0000\.nii\.gz$/, '');
    writeFileSync(join(seg, `${caseId}.nii.gz`), readFileSync(join(seg, predFile!)));
    rmSync(join(seg, predFile!));
    const evaluated = await quiet(() =>
      evaluate.run([
        '--pred',
        seg,
        '--gt',
        join(data, 'labelsTs'),
        '--labels',
        join(data, 'dataset.json'),
        '--out',
        report,
        '--json',
      ]),
    );
    assert.equal(evaluated.code, 0, evaluated.out);
    const summary = JSON.parse(readFileSync(join(report, 'summary.json'), 'utf8')) as {
      cases: number;
      caseIds: string[];
    };
    assert.equal(summary.cases, 1);
    assert.deepEqual(summary.caseIds, [caseId]);
  });

  it('refuses a folder without dataset.json, writing nothing', async () => {
    const out = join(dir, 'run-missing');
    await assert.rejects(
      train.run(['--data', join(dir, 'nowhere'), '--out', out, '--init', 'random']),
      /no dataset\.json/,
    );
    assert.equal(existsSync(join(out, 'run.json')), false);
  });

  it('refuses an image/label pair whose grids differ, naming the case, and writes no checkpoint', async () => {
    const bad = join(dir, 'bad-grid');
    await twoCasePhantom(bad, '24x24x6');
    const other = join(dir, 'other');
    await twoCasePhantom(other, '24x20x6');
    writeFileSync(
      join(bad, 'labelsTr', 'ct_000.nii.gz'),
      readFileSync(join(other, 'labelsTr', 'ct_000.nii.gz')),
    );
    const out = join(dir, 'run-bad-grid');
    await assert.rejects(
      train.run(['--data', bad, '--out', out, '--init', 'random', '--steps', '1']),
      /ct_000/,
    );
    assert.equal(existsSync(join(out, 'latest.safetensors')), false);
  });

  it('refuses label values that dataset.json does not declare, naming the case', async () => {
    const bad = join(dir, 'bad-labels');
    await twoCasePhantom(bad, '24x24x6');
    const json = JSON.parse(readFileSync(join(bad, 'dataset.json'), 'utf8')) as {
      labels: Record<string, number>;
    };
    delete json.labels['left_adrenal_gland']; // value 13 stays in the label files
    writeFileSync(join(bad, 'dataset.json'), JSON.stringify(json));
    const out = join(dir, 'run-bad-labels');
    await assert.rejects(
      train.run(['--data', bad, '--out', out, '--init', 'random', '--steps', '1']),
      /ct_00\d.*13/s,
    );
    assert.equal(existsSync(join(out, 'latest.safetensors')), false);
  });

  it('refuses an unreadable checkpoint with a clear error and no output', async () => {
    const garbage = join(dir, 'garbage.pth');
    writeFileSync(garbage, 'not a checkpoint');
    const out = join(dir, 'never.onnx');
    await assert.rejects(
      exportCommand.run(['--config', 'small', '--sam', garbage, '--out', out]),
      /garbage\.pth/,
    );
    assert.equal(existsSync(out), false);
  });
});
