// Tests for `masam info`: JSON and text output on the NIfTI and DICOM fixtures, a folder of PNG frames, a 4D
// NIfTI, an exported model, a run folder and a dataset folder (summary and integrity check).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { fixturePath } from '../../../test/fixtures.js';
import { loadMaSam } from '../../api/model.js';
import { checkModality } from '../../infer/stacks.js';
import { aff2axcodes, affineMaxDiff, toAffine } from '../../io/geometry.js';
import { parseNifti, serializeNifti } from '../../io/nifti.js';
import { IDENTITY_AFFINE } from '../../io/volume.js';
import { runCommand } from '../../../test/cli.js';
import { UsageError } from '../command.js';
import { RunDir, drawCurves } from '../run_dir.js';
import { readVolume, writeVolumeAtomic } from '../volume_files.js';
import { type ModelFileInfo, type RunFolderInfo, type VolumeInfo, info } from './info.js';
import { phantom } from './phantom.js';

/** Runs `masam info` with `args` and returns its exit code and what it printed. */
const runInfo = (args: string[]) => runCommand(info, args);

async function infoJson(path: string): Promise<VolumeInfo> {
  const { code, out } = await runInfo([path, '--json']);
  assert.equal(code, 0);
  return JSON.parse(out) as VolumeInfo;
}

/** Writes T frames of W×H whose red channel is 10·t + x, so the stacking order is visible in the data. */
function writeFrames(dir: string, names: readonly string[], w: number, h: number): void {
  names.forEach((name, t) => {
    const png = new PNG({ width: w, height: h });
    for (let p = 0; p < w * h; p++) png.data.set([10 * t + (p % w), 50, 200, 255], 4 * p);
    writeFileSync(join(dir, name), PNG.sync.write(png));
  });
}

interface NiftiCase {
  file: string;
  shape: number[];
  dtype_on_disk: string;
  affine: number[][];
  zooms: number[];
  min: number;
  max: number;
  sform_code: number;
  qform_code: number;
}
/** A NIfTI file read synchronously (for assert.throws). */
const readVolumeSync = (path: string) => parseNifti(readFileSync(path), path);

const NIFTI_CASES: NiftiCase[] = JSON.parse(readFileSync(fixturePath('nifti', 'cases.json'), 'utf8')).cases;

describe('masam info', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'masam-info-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  for (const c of NIFTI_CASES.filter((x) =>
    ['ct_int16_slope.nii.gz', 'series_4d_int16.nii.gz'].includes(x.file),
  )) {
    it(`prints shape, spacing, affine, orientation and range of ${c.file} as JSON`, async () => {
      const r = await infoJson(fixturePath('nifti', c.file));
      assert.equal(r.format, 'nifti');
      assert.deepEqual(r.shape, c.shape);
      assert.deepEqual(r.spacing, c.zooms);
      assert.ok(affineMaxDiff(toAffine(r.affine), toAffine(c.affine)) < 1e-9);
      assert.equal(r.orientation, aff2axcodes(toAffine(c.affine)));
      assert.deepEqual(r.range, [c.min, c.max]);
      assert.equal(r.nifti?.datatype, c.dtype_on_disk);
      assert.deepEqual([r.nifti?.sformCode, r.nifti?.qformCode], [c.sform_code, c.qform_code]);
    });
  }

  it('prints a readable text summary without --json', async () => {
    const { code, out } = await runInfo([fixturePath('nifti', 'ct_int16_slope.nii.gz')]);
    assert.equal(code, 0);
    assert.match(out, /^shape\s+\[64, 48, 20\]$/m);
    assert.match(out, /^dtype\s+float32$/m);
    assert.match(out, /^spacing\s+\[0\.8, 0\.8, 2\.5\] mm$/m);
    assert.match(out, /^orientation\s+RAS$/m);
    assert.match(out, /^range\s+\[-1024, 1975\]$/m);
    assert.match(out, /NIfTI-1, int16 on disk, scaling 1·x \+ -1024, sform_code 2, qform_code 0/);
  });

  it('stacks a folder of PNG frames in natural name order into [W, H, T, 3], oriented LPS', async () => {
    const dir = join(tmp, 'frames');
    mkdirSync(dir);
    writeFrames(dir, ['f1.png', 'f2.png', 'f10.png'], 6, 4);
    mkdirSync(join(dir, 'sub')); // sub-folders and hidden files are not frames
    writeFileSync(join(dir, '.hidden.png'), 'not a png');
    const r = await infoJson(dir);
    assert.equal(r.format, 'frames');
    assert.deepEqual(r.shape, [6, 4, 3, 3]);
    assert.equal(r.dtype, 'uint8');
    assert.equal(r.orientation, 'LPS');
    assert.deepEqual(r.spacing, [1, 1, 1, 1]);
    assert.deepEqual(r.range, [0, 200]);
    assert.equal(r.nifti, undefined);
    assert.equal(r.content, 'RGB frames [6, 4, 3, 3] (video)');
  });

  it('describes a 4D NIfTI whose last axis is 3 as 3 volumes or channels, not as video', async () => {
    const path = join(tmp, 'four_d.nii.gz');
    const n = 20 * 16 * 4 * 3;
    const volume = {
      dtype: 'float32' as const,
      shape: [20, 16, 4, 3],
      spacing: [1, 1, 2, 1],
      affine: IDENTITY_AFFINE,
      data: Float32Array.from({ length: n }, (_, i) => i % 7),
    };
    writeFileSync(path, serializeNifti(volume, { gzip: true }));
    const { code, out } = await runInfo([path]);
    assert.equal(code, 0);
    assert.match(out, /^content\s+a 4D volume \[20, 16, 4, 3\] \(3 volumes or channels\)$/m);
    assert.doesNotMatch(out, /RGB|video/);
    // The same words where a CT model refuses it (segment, viewer): the 4th axis is not called video.
    assert.throws(
      () => checkModality(readVolumeSync(path), 'ct', path),
      /the model is for CT .*, but the input is a 4D volume \[20, 16, 4, 3\] \(3 volumes or channels\)$/,
    );
    assert.match(
      (await runInfo([fixturePath('nifti', 'ct_int16_slope.nii.gz')])).out,
      /^content\s+a grey 3D volume/m,
    );
  });

  it('reads a DICOM series folder with its RAS affine', async () => {
    const cases = JSON.parse(readFileSync(fixturePath('dicom', 'cases.json'), 'utf8'));
    const s = cases.series;
    const r = await infoJson(fixturePath('dicom', s.dir));
    assert.equal(r.format, 'dicom');
    assert.deepEqual(r.shape, [s.columns, s.rows, s.slices]);
    // LPS → RAS: negate the first two rows.
    const ras = toAffine((s.affine_lps as number[][]).map((row, i) => (i < 2 ? row.map((x) => -x) : row)));
    assert.ok(affineMaxDiff(toAffine(r.affine), ras) < 1e-6, JSON.stringify(r.affine));
    assert.equal(r.orientation, aff2axcodes(ras));
  });

  it('treats a wrong argument list as a usage error', async () => {
    await assert.rejects(runInfo([]), UsageError);
    await assert.rejects(runInfo(['a.nii', 'b.nii']), UsageError);
    await assert.rejects(runInfo(['a.nii', '--bogus']), UsageError);
  });

  it('fails with the file name when the file is not a volume', async () => {
    const junk = join(tmp, 'notes.txt');
    writeFileSync(junk, 'hello, this is not a volume at all '.repeat(10));
    await assert.rejects(runInfo([junk]), /notes\.txt: unknown file type/);
  });

  it('describes an exported model: classes, stack, preprocessing, prompts and inputs', async () => {
    const { code, out } = await runInfo(['models/demo/model.onnx']);
    assert.equal(code, 0);
    assert.match(out, /classes +0 background, 1 spleen,/);
    assert.match(out, /stack +5 slices of 128×128/);
    assert.match(out, /prompts +none/);
    const model = await loadMaSam({
      config: { preset: 'small', depth: 2, global_attn_indexes: [1], num_classes: 1 },
    });
    const path = join(tmp, 'boxed.onnx');
    await model.exportOnnx(path, { slices: 3, preprocessing: { modality: 'mri' }, prompts: { points: 2 } });
    const json = JSON.parse((await runInfo([path, '--json'])).out) as ModelFileInfo;
    assert.deepEqual(json.prompts, { points: 2 });
    assert.deepEqual(json.classNames, ['background', 'class_1']);
    assert.equal(json.preprocessing.modality, 'mri');
    assert.deepEqual(json.inputs, [
      'image float32 [1, 3, 3, 128, 128]',
      'boxes float32 [3, 4]',
      'point_coords float32 [3, 2, 2]',
      'point_labels float32 [3, 2]',
    ]);
    assert.match((await runInfo([path])).out, /prompts +box per slice \+ 2 point slots/);
    // The same model split: both graphs' inputs, the form and the weights' precision.
    const split = join(tmp, 'boxed-split');
    await model.exportSplit(split, { slices: 3, preprocessing: { modality: 'mri' }, prompts: { points: 2 } });
    const info = JSON.parse((await runInfo([split, '--json'])).out) as ModelFileInfo;
    assert.equal(info.form, 'split');
    assert.equal(info.weights, 'fp32');
    assert.deepEqual(info.inputs, [
      'encoder: image float32 [1, 3, 3, 128, 128]',
      'decoder: embeddings float32 [1, 256, 8, 8]',
      'decoder: boxes float32 [1, 4]',
      'decoder: point_coords float32 [1, 2, 2]',
      'decoder: point_labels float32 [1, 2]',
    ]);
    assert.match(
      (await runInfo([split])).out,
      /format +masam model \(ONNX, split: encoder.onnx \+ decoder.onnx; fp32 weights\)/,
    );
    writeFileSync(join(tmp, 'junk.onnx'), 'not a model');
    await assert.rejects(runInfo([join(tmp, 'junk.onnx')]), /junk\.onnx/);
  });

  it('describes a run folder: config, classes, steps done of the total, best validation, files', async () => {
    const dir = join(tmp, 'run');
    mkdirSync(dir);
    const run = new RunDir(dir);
    const model = await loadMaSam({
      config: { preset: 'small', depth: 2, global_attn_indexes: [1], num_classes: 2 },
    });
    await run.writeInfo({
      config: model.config,
      classNames: ['background', 'liver', 'spleen'],
      preprocessing: { modality: 'ct' },
      training: { data: 'data/phantom', steps: 300, batch: 2, lr: 0.0008, prompts: null },
    });
    const lines = [
      { step: 100, loss: 0.9, lr: 1e-4 },
      { step: 100, val_dice: [0.5, 0.3], val_mean: 0.4 },
      { step: 200, loss: 0.5, lr: 1e-4 },
      { step: 200, val_dice: [0.8, 0.6], val_mean: 0.7 },
      { step: 210, loss: 0.4, lr: 1e-4 },
    ];
    writeFileSync(join(dir, 'metrics.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    await drawCurves(run);
    const state = { step: 200, bestScore: 0.7, bestStep: 200 } as unknown as Parameters<
      RunDir['saveCheckpoint']
    >[3];
    await run.saveCheckpoint('latest.safetensors', new Map([...model.weights].slice(0, 2)), undefined, state);
    mkdirSync(join(dir, 'cache'));

    const { code, out } = await runInfo([dir]);
    assert.equal(code, 0);
    assert.match(out, /^format\s+masam run folder/m);
    assert.match(out, /^classes\s+0 background, 1 liver, 2 spleen$/m);
    assert.match(
      out,
      /^steps\s+200 of 300 in latest\.safetensors \(210 logged; --resume continues from 200\)$/m,
    );
    assert.match(out, /^best\s+mean Dice 0\.7000 at step 200 \(liver 0\.800, spleen 0\.600\)$/m);
    assert.match(
      out,
      /^files\s+cache\/, curves\.png \(.*\), latest\.safetensors \(.*\), metrics\.jsonl \(.*\), run\.json/m,
    );
    const json = JSON.parse((await runInfo([dir, '--json'])).out) as RunFolderInfo;
    assert.deepEqual(json.steps, { checkpoint: 200, logged: 210, total: 300 });
    assert.deepEqual(json.best, { dice: 0.7, step: 200, perClass: [0.8, 0.6] });
  });

  it('summarises a dataset folder and checks it, naming the file of each problem (exit 1)', async () => {
    const dir = join(tmp, 'dataset');
    const made = await runCommand(phantom, [
      '--out',
      dir,
      '--modality',
      'ct',
      '--cases',
      '2',
      '--test',
      '1',
      '--size',
      '24x20x6',
    ]);
    assert.equal(made.code, 0, made.err);
    const good = await runInfo([dir]);
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /^cases\s+2 labelled \(imagesTr \+ labelsTr\), 1 test \(imagesTs\)$/m);
    assert.match(good.out, /^channels\s+0 CT$/m);
    assert.match(good.out, /^shape\s+24 × 20 × 6 \(all cases\) voxels$/m);
    assert.match(good.out, /^intensity\s+CT: -?\d/m);
    assert.match(good.out, /^check\s+OK/m);

    const labelName = readdirSync(join(dir, 'labelsTr')).sort()[0]!;
    const labelPath = join(dir, 'labelsTr', labelName);
    const label = await readVolume(labelPath);
    const data = Float32Array.from(label.data as ArrayLike<number>);
    data[0] = 99;
    await writeVolumeAtomic(labelPath, { ...label, dtype: 'float32', data });
    const bad = await runInfo([dir]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.out,
      new RegExp(
        `^  labelsTr/${labelName.replace('.', '\\.')}: label value\\(s\\) 99 are not in dataset.json's labels`,
        'm',
      ),
    );
  });
});
