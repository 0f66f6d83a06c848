// End-to-end tests of `masam segment` with a tiny randomly initialised MA-SAM (img 32, depth 2) exported to
// ONNX: NIfTI in → NIfTI out with the input geometry, strides, probabilities, overlays, folders of cases,
// frames → PNG masks, and clear errors without partial outputs (masam-spec.md 10.1–10.2).
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import dicomParser from 'dicom-parser';
import { PNG } from 'pngjs';
import { TS, words16, writeDicom } from '../../../test/dicom_synth.js';
import { fixturePath } from '../../../test/fixtures.js';
import { loadMaSam } from '../../api/model.js';
import { Rng } from '../../core/rng.js';
import { ctPhantom } from '../../data/phantom.js';
import { decodePng } from '../../io/frames.js';
import { affineMaxDiff } from '../../io/geometry.js';
import { parseNifti, serializeNifti } from '../../io/nifti.js';
import type { Volume } from '../../io/volume.js';
import { runCommand } from '../../../test/cli.js';
import { UsageError } from '../command.js';
import { readVolume } from '../volume_files.js';
import { evaluate } from './evaluate.js';
import { segment } from './segment.js';

const K = 3; // num_classes 2 + background

const runSegment = (args: string[]) => runCommand(segment, args);

/** Every file under `dir`, relative, sorted (to check that a failure wrote nothing). */
function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

function writeFrames(dir: string, count: number, w: number, h: number): void {
  mkdirSync(dir, { recursive: true });
  for (let t = 0; t < count; t++) {
    const png = new PNG({ width: w, height: h });
    for (let p = 0; p < w * h; p++) png.data.set([(p * 7 + t) % 256, (p * 3) % 256, 100 + t, 255], 4 * p);
    writeFileSync(join(dir, `frame_${t}.png`), PNG.sync.write(png));
  }
}

const STUDY_UID = '1.2.826.0.1.3680043.9.9999.21';

/** A synthetic axial CT series (test/dicom_synth.ts): a bright disc that shifts from slice to slice. */
function writeDicomSeries(dir: string, columns: number, rows: number, count: number): void {
  mkdirSync(dir, { recursive: true });
  for (let z = 0; z < count; z++) {
    const hu = Array.from({ length: rows * columns }, (_, p) => {
      const [r, c] = [Math.floor(p / columns), p % columns];
      return Math.hypot(r - rows / 2, c - columns / 3 - z) < 6 ? 300 : -100;
    });
    const bytes = writeDicom({
      rows,
      columns,
      transferSyntax: TS.explicitLE,
      pixelData: words16(hu.map((v) => v + 1024)),
      attrs: {
        '00080016': '1.2.840.10008.5.1.4.1.1.2',
        '00080018': `1.2.826.0.1.3680043.9.9999.22.${z}`,
        '00080060': 'CT',
        '0020000D': STUDY_UID,
        '0020000E': '1.2.826.0.1.3680043.9.9999.23',
        '00200052': '1.2.826.0.1.3680043.9.9999.24',
        '00200032': `-12\\-10\\${2 * z}`,
        '00200037': '1\\0\\0\\0\\1\\0',
        '00280030': '1\\1',
        '00180050': '2',
        '00281052': '-1024',
        '00281053': '1',
      },
    });
    writeFileSync(join(dir, `img_${count - z}.dcm`), bytes); // file order runs against position
  }
}

/** A DICOM-SEG read back with dicom-parser into a label map: frame → slice k by its referenced SOP instance. */
function readSegLabels(bytes: Uint8Array, sopOrder: readonly string[], classNames: readonly string[]) {
  const ds = dicomParser.parseDicom(bytes);
  const plane = ds.uint16('x00280010')! * ds.uint16('x00280011')!;
  const first = (d: dicomParser.DataSet, tag: string) => d.elements[tag]!.items![0]!.dataSet!;
  const classOf = new Map(
    ds.elements['x00620002']!.items!.map((it) => [
      it.dataSet!.uint16('x00620004')!,
      classNames.indexOf(it.dataSet!.string('x00620005')!),
    ]),
  );
  const px = ds.elements['x7fe00010']!;
  const labels = new Uint8Array(plane * sopOrder.length);
  for (const [n, it] of ds.elements['x52009230']!.items!.entries()) {
    const fg = it.dataSet!;
    const c = classOf.get(first(fg, 'x0062000a').uint16('x0062000b')!)!;
    const k = sopOrder.indexOf(first(first(fg, 'x00089124'), 'x00082112').string('x00081155')!);
    for (let p = 0; p < plane; p++) {
      const b = n * plane + p;
      if ((bytes[px.dataOffset + (b >> 3)]! >> (b & 7)) & 1) labels[k * plane + p] = c;
    }
  }
  return { ds, labels };
}

describe('masam segment', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'masam-segment-'));
  const run = join(tmp, 'run'); // a run folder from before the split, holding model.onnx (CT)
  const split = join(tmp, 'split'); // the same weights as a split model
  const videoModel = join(tmp, 'video.onnx');
  const ctPath = join(tmp, 'ct.nii.gz');
  let ct: Volume;
  after(() => rmSync(tmp, { recursive: true, force: true }));

  before(async () => {
    const config = {
      preset: 'small' as const,
      img_size: 32,
      depth: 2,
      global_attn_indexes: [1],
      num_classes: 2,
    };
    const model = await loadMaSam({ config, seed: 7 });
    mkdirSync(run);
    await model.exportOnnx(join(run, 'model.onnx'), {
      slices: 5,
      classNames: ['background', 'liver', 'spleen'],
      preprocessing: { modality: 'ct' },
    });
    await model.exportSplit(split, {
      slices: 5,
      batch: 2,
      classNames: ['background', 'liver', 'spleen'],
      preprocessing: { modality: 'ct' },
    });
    await model.exportOnnx(videoModel, { slices: 5, preprocessing: { modality: 'video' } });
    ct = ctPhantom(new Rng(3), { size: [40, 40, 12] }).image;
    writeFileSync(ctPath, serializeNifti(ct, { gzip: true }));
  });

  it('writes a label map with the input shape and affine, class names beside it, and a timing line', async () => {
    const output = join(tmp, 'out1', 'labels.nii.gz');
    const { code, out } = await runSegment(['--model', run, '--input', ctPath, '--output', output]);
    assert.equal(code, 0);
    const labels = parseNifti(readFileSync(output), output);
    assert.deepEqual(labels.shape, ct.shape);
    assert.equal(labels.dtype, 'uint8');
    assert.ok(affineMaxDiff(labels.affine, ct.affine) < 1e-4);
    assert.ok((labels.data as Uint8Array).every((v) => v < K));
    const sidecar = JSON.parse(readFileSync(join(tmp, 'out1', 'labels.labels.json'), 'utf8'));
    assert.deepEqual(sidecar.labels, { background: 0, liver: 1, spleen: 2 });
    assert.match(out, /12 stacks of 5 slices \(stride 1\); [\d.]+ s total.* s per stack, [\d.]+ s per slice/);
    assert.match(out, /done: 1 input in [\d.]+ s \(model load/);
  });

  it('--embeddings keeps the stacks on disk: a second run encodes nothing, with the labels of the one graph', async () => {
    const cache = join(tmp, 'embeddings');
    const outputs = ['a', 'b', 'one'].map((n) => join(tmp, 'emb', `${n}.nii.gz`)) as [string, string, string];
    const first = await runSegment([
      '--model',
      split,
      '--input',
      ctPath,
      '--output',
      outputs[0],
      '--embeddings',
      cache,
    ]);
    assert.equal(first.code, 0);
    assert.match(first.out, /embeddings of 0 stack\(s\) reused, 12 encoded into /);
    const second = await runSegment([
      '--model',
      split,
      '--input',
      ctPath,
      '--output',
      outputs[1],
      '--embeddings',
      cache,
    ]);
    assert.match(second.out, /embeddings of 12 stack\(s\) reused, 0 encoded into /);
    await runSegment(['--model', run, '--input', ctPath, '--output', outputs[2]]);
    const [a, b, one] = outputs.map((f) => parseNifti(readFileSync(f), f).data);
    assert.deepEqual(b, a);
    assert.deepEqual(a, one, 'the split model gives the labels of the one-graph export');
    await assert.rejects(
      runSegment([
        '--model',
        run,
        '--input',
        ctPath,
        '--output',
        join(tmp, 'emb', 'x.nii.gz'),
        '--embeddings',
        cache,
      ]),
      /--embeddings needs a split model/,
    );
  });

  it('runs --stride 5 (non-overlapping stacks) and writes probabilities and an overlay', async () => {
    const output = join(tmp, 'out2', 'ct.nii');
    const overlay = join(tmp, 'overlay');
    const { out } = await runSegment([
      ...['--model', join(run, 'model.onnx'), '--input', ctPath, '--output', output],
      ...['--stride', '5', '--probabilities', '--overlay', overlay, '--threads', '1'],
    ]);
    assert.match(out, /3 stacks of 5 slices \(stride 5\)/);
    const labels = parseNifti(readFileSync(output), output);
    assert.deepEqual(labels.shape, [40, 40, 12]);
    const probPath = join(tmp, 'out2', 'ct.probabilities.nii');
    const probs = parseNifti(readFileSync(probPath), probPath);
    assert.deepEqual(probs.shape, [40, 40, 12, K]);
    assert.equal(probs.dtype, 'float32');
    assert.ok(affineMaxDiff(probs.affine, ct.affine) < 1e-4);
    const n = 40 * 40 * 12;
    for (let v = 0; v < n; v += 37) {
      const p = [0, 1, 2].map((c) => probs.data[c * n + v] as number);
      assert.ok(Math.abs(p[0]! + p[1]! + p[2]! - 1) < 1e-5);
      assert.equal(labels.data[v], p.indexOf(Math.max(...p)));
    }
    const png = decodePng(readFileSync(join(overlay, 'ct.png')), 'overlay');
    assert.ok(png.width > 40 && png.height > 40);
  });

  it('segments every NIfTI of a folder of cases into the output folder under the same names', async () => {
    const cases = join(tmp, 'cases');
    mkdirSync(cases);
    writeFileSync(join(cases, 'case_01.nii.gz'), readFileSync(ctPath));
    const small = ctPhantom(new Rng(4), { size: [24, 20, 3] }).image;
    writeFileSync(join(cases, 'case_02.nii'), serializeNifti(small));
    const outDir = join(tmp, 'cases_out');
    const { out } = await runSegment(['--model', run, '--input', cases, '--output', outDir]);
    assert.deepEqual(listFiles(outDir), [
      'case_01.labels.json',
      'case_01.nii.gz',
      'case_02.labels.json',
      'case_02.nii',
    ]);
    const second = parseNifti(readFileSync(join(outDir, 'case_02.nii')), 'case_02');
    assert.deepEqual(second.shape, [24, 20, 3]);
    assert.ok(affineMaxDiff(second.affine, small.affine) < 1e-4);
    assert.match(out, /done: 2 cases/);
  });

  it("names predictions of channel files by case, as nnU-Net's predict does, so evaluate pairs them with labelsTs", async () => {
    const dataset = join(tmp, 'Dataset001');
    const phantom = ctPhantom(new Rng(3), { size: [40, 40, 12] });
    for (const sub of ['imagesTs', 'labelsTs']) mkdirSync(join(dataset, sub), { recursive: true });
    for (const id of ['ct_000', 'ct_001']) {
      writeFileSync(join(dataset, 'imagesTs', `${id}_0000.nii.gz`), readFileSync(ctPath));
      writeFileSync(join(dataset, 'labelsTs', `${id}.nii.gz`), serializeNifti(phantom.label, { gzip: true }));
    }
    const preds = join(tmp, 'preds');
    const overlay = join(tmp, 'preds_png');
    const args = ['--model', run, '--input', join(dataset, 'imagesTs'), '--output', preds];
    assert.equal((await runSegment([...args, '--stride', '5', '--overlay', overlay])).code, 0);
    assert.deepEqual(listFiles(preds), [
      'ct_000.labels.json',
      'ct_000.nii.gz',
      'ct_001.labels.json',
      'ct_001.nii.gz',
    ]);
    assert.deepEqual(listFiles(overlay), ['ct_000.png', 'ct_001.png']);
    const report = join(tmp, 'preds_report');
    const evaluated = await runCommand(evaluate, [
      ...['--pred', preds, '--gt', join(dataset, 'labelsTs'), '--out', report, '--json'],
    ]);
    assert.equal(evaluated.code, 0, evaluated.err);
    assert.equal(JSON.parse(evaluated.out).cases, 2);

    // One channel file into a folder: the same name by case, overlay included.
    const single = join(tmp, 'single');
    const one = ['--input', join(dataset, 'imagesTs', 'ct_001_0000.nii.gz'), '--output', single];
    assert.equal((await runSegment(['--model', run, ...one, '--stride', '5', '--overlay', single])).code, 0);
    assert.deepEqual(listFiles(single), ['ct_001.labels.json', 'ct_001.nii.gz', 'ct_001.png']);
  });

  it("stacks a case's channel files when the dataset.json beside the folder declares them (video RGB)", async () => {
    const dataset = join(tmp, 'Dataset003');
    mkdirSync(join(dataset, 'imagesTs'), { recursive: true });
    const json = { channel_names: { 0: 'R', 1: 'G', 2: 'B' }, labels: { background: 0, tool: 1 } };
    writeFileSync(join(dataset, 'dataset.json'), JSON.stringify({ ...json, file_ending: '.nii.gz' }));
    const frames = ctPhantom(new Rng(5), { size: [20, 16, 6] }).image;
    for (let c = 0; c < 3; c++) {
      const data = Uint8Array.from(frames.data as Int16Array, (v) => (v + 1000 + 40 * c) & 0xff);
      const channel = { ...frames, dtype: 'uint8' as const, data };
      writeFileSync(join(dataset, 'imagesTs', `v_000${c}.nii.gz`), serializeNifti(channel, { gzip: true }));
    }
    const preds = join(tmp, 'preds_rgb');
    const { code, out } = await runSegment([
      ...['--model', videoModel, '--input', join(dataset, 'imagesTs'), '--output', preds],
    ]);
    assert.equal(code, 0);
    assert.deepEqual(listFiles(preds), ['v.labels.json', 'v.nii.gz']);
    assert.deepEqual(parseNifti(readFileSync(join(preds, 'v.nii.gz')), 'v').shape, [20, 16, 6]);
    assert.match(out, /done: 1 input/);
  });

  it('--skip-existing skips the cases whose outputs all exist, so an interrupted batch continues', async () => {
    const cases = join(tmp, 'resume_in');
    mkdirSync(cases);
    for (const id of ['a', 'b', 'c']) writeFileSync(join(cases, `${id}_0000.nii.gz`), readFileSync(ctPath));
    const outDir = join(tmp, 'resume_out');
    const args = ['--model', run, '--input', cases, '--output', outDir, '--stride', '5'];
    assert.equal((await runSegment(args)).code, 0);
    // As if the batch had stopped after case a: b lost its outputs, c its sidecar.
    rmSync(join(outDir, 'b.nii.gz'));
    rmSync(join(outDir, 'b.labels.json'));
    rmSync(join(outDir, 'c.labels.json'));
    const before = statSync(join(outDir, 'a.nii.gz')).mtimeMs;
    const again = await runSegment([...args, '--skip-existing']);
    assert.equal(again.code, 0);
    assert.match(again.out, /a_0000\.nii\.gz: skipped, its outputs exist \(--skip-existing\)/);
    assert.doesNotMatch(again.out, /[bc]_0000\.nii\.gz: skipped/);
    assert.match(again.out, /done: 2 cases in .*\(1 skipped\)/);
    assert.equal(statSync(join(outDir, 'a.nii.gz')).mtimeMs, before);
    assert.deepEqual(listFiles(outDir), [
      'a.labels.json',
      'a.nii.gz',
      'b.labels.json',
      'b.nii.gz',
      'c.labels.json',
      'c.nii.gz',
    ]);
    // Asking for an output that the earlier run did not write runs those cases again.
    const overlay = join(tmp, 'resume_png');
    const withOverlay = await runSegment([...args, '--skip-existing', '--overlay', overlay]);
    assert.doesNotMatch(withOverlay.out, /skipped/);
    assert.deepEqual(listFiles(overlay), ['a.png', 'b.png', 'c.png']);
    const nothing = await runSegment([...args, '--skip-existing', '--overlay', overlay]);
    assert.match(nothing.out, /done: nothing to do, the outputs of all 3 input\(s\) exist/);
  });

  it('turns a DICOM series folder into <folder>.nii.gz with the series geometry', async () => {
    const series = fixturePath('dicom', 'series_oblique');
    const source = await readVolume(series);
    const outDir = join(tmp, 'dicom_out');
    await runSegment(['--model', run, '--input', series, '--output', `${outDir}/`]);
    const labels = parseNifti(readFileSync(join(outDir, 'series_oblique.nii.gz')), 'dicom labels');
    assert.deepEqual(labels.shape, source.shape);
    assert.ok(affineMaxDiff(labels.affine, source.affine) < 1e-4);
    assert.ok(existsSync(join(outDir, 'series_oblique.labels.json')));
  });

  it('writes a DICOM-SEG of a DICOM series to .dcm that reads back as the NIfTI label map', async () => {
    const series = join(tmp, 'dicom_synth');
    writeDicomSeries(series, 36, 28, 6);
    const outDir = join(tmp, 'seg_out');
    const segPath = join(outDir, 'case.dcm');
    const { out } = await runSegment(['--model', run, '--input', series, '--output', segPath]);
    assert.match(out, /→ .*case\.dcm: \[36, 28, 6\]/);
    await runSegment(['--model', run, '--input', series, '--output', join(outDir, 'case.nii.gz')]);
    assert.deepEqual(listFiles(outDir), ['case.dcm', 'case.labels.json', 'case.nii.gz']);
    const nifti = parseNifti(readFileSync(join(outDir, 'case.nii.gz')), 'labels');
    const sopOrder = (await readVolume(series)).source!.header!['sopInstanceUIDs'] as string[];
    const seg = readSegLabels(readFileSync(segPath), sopOrder, ['background', 'liver', 'spleen']);
    assert.equal(seg.ds.string('x00080016'), '1.2.840.10008.5.1.4.1.1.66.4');
    assert.equal(seg.ds.string('x00080060'), 'SEG');
    assert.equal(seg.ds.string('x0020000d'), STUDY_UID);
    assert.match(seg.ds.string('x00181020')!, /^masam /);
    assert.deepEqual(seg.labels, nifti.data);
    // The random model labels voxels of both classes, so real frames were compared, not just empty segments.
    assert.deepEqual([...new Set(nifti.data as Uint8Array)].sort(), [0, 1, 2]);
  });

  it("goes on past a bad case and then fails naming it, keeping the good cases' outputs", async () => {
    const cases = join(tmp, 'cases_bad');
    mkdirSync(cases);
    writeFileSync(join(cases, 'a.nii.gz'), readFileSync(ctPath));
    writeFileSync(join(cases, 'b.nii.gz'), new Uint8Array([0x1f, 0x8b, 1, 2, 3]));
    const outDir = join(tmp, 'cases_bad_out');
    // segment.run itself, not runSegment: the rejection must not hide what it printed on the way.
    const log = mock.method(console, 'log', () => undefined);
    const error = mock.method(console, 'error', () => undefined);
    try {
      await assert.rejects(
        segment.run(['--model', run, '--input', cases, '--output', outDir]),
        /1 of 2 cases failed: b\.nii\.gz/,
      );
      assert.match(String(error.mock.calls[0]?.arguments[0]), /b\.nii\.gz/);
    } finally {
      log.mock.restore();
      error.mock.restore();
    }
    assert.deepEqual(listFiles(outDir), ['a.labels.json', 'a.nii.gz']);
  });

  it('writes one PNG mask per frame, named after the frames, for a video model', async () => {
    const frames = join(tmp, 'frames');
    writeFrames(frames, 3, 36, 28);
    const masks = join(tmp, 'masks');
    await runSegment(['--model', videoModel, '--input', frames, '--output', masks]);
    assert.deepEqual(listFiles(masks), ['frame_0.png', 'frame_1.png', 'frame_2.png', 'labels.json']);
    const mask = decodePng(readFileSync(join(masks, 'frame_2.png')), 'mask');
    assert.deepEqual([mask.width, mask.height], [36, 28]);
    for (let p = 0; p < 36 * 28; p++) assert.ok(mask.rgba[4 * p]! < K);
  });

  it('rejects a modality mismatch naming the input and both modalities, writing nothing', async () => {
    const frames = join(tmp, 'frames_ct');
    writeFrames(frames, 2, 16, 16);
    const outDir = join(tmp, 'mismatch');
    await assert.rejects(
      runSegment(['--model', run, '--input', frames, '--output', join(outDir, 'x.nii.gz')]),
      new RegExp(`${frames}: the model is for CT.*RGB frames.*video`),
    );
    await assert.rejects(
      runSegment(['--model', videoModel, '--input', ctPath, '--output', join(outDir, 'y.nii.gz')]),
      /ct\.nii\.gz: the model is for video.*grey 3D volume/,
    );
    assert.deepEqual(listFiles(outDir), []);
  });

  it('rejects a missing model, a bad input, DICOM-SEG output and bad options clearly, writing nothing', async () => {
    const outDir = join(tmp, 'errors');
    const output = join(outDir, 'x.nii.gz');
    await assert.rejects(
      runSegment(['--model', join(tmp, 'nope.onnx'), '--input', ctPath, '--output', output]),
      /nope\.onnx: model not found/,
    );
    await assert.rejects(
      runSegment(['--model', tmp, '--input', ctPath, '--output', output]),
      /the folder holds no model \(encoder\.onnx \+ decoder\.onnx, model\/ or model\.onnx/,
    );
    const bad = join(tmp, 'bad.nii.gz');
    writeFileSync(bad, new Uint8Array([0x1f, 0x8b, 1, 2, 3]));
    await assert.rejects(runSegment(['--model', run, '--input', bad, '--output', output]), /bad\.nii\.gz/);
    await assert.rejects(
      runSegment(['--model', run, '--input', ctPath, '--output', join(outDir, 'seg.dcm')]),
      (err: Error) =>
        err instanceof UsageError &&
        /DICOM-SEG output \(\.dcm\) needs a DICOM series.*a NIfTI file/.test(err.message),
    );
    const frames = join(tmp, 'frames_seg');
    writeFrames(frames, 2, 16, 16);
    await assert.rejects(
      runSegment(['--model', run, '--input', frames, '--output', join(outDir, 'frames.dcm')]),
      (err: Error) =>
        err instanceof UsageError && /needs a DICOM series.*frames_seg' is frames data/.test(err.message),
    );
    await assert.rejects(
      runSegment(['--model', run, '--input', ctPath, '--output', output, '--stride', '7']),
      /--stride 7 is larger than the model's 5 slices/,
    );
    await assert.rejects(runSegment(['--model', run, '--input', ctPath]), /missing --output/);
    await assert.rejects(
      runSegment(['--model', run, '--input', ctPath, '--output', output, '--device', 'tpu']),
      /--device must be cpu or cuda/,
    );
    assert.deepEqual(listFiles(outDir), []);
  });
});
