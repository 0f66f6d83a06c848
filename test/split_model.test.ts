// The split model (issue 13): encoder.onnx + decoder.onnx give the one graph's logits, a kept
// VolumeSegmenter re-runs only the decoder when the prompts change (counted at the sessions), batched stacks
// give the labels of one-at-a-time runs, and a broken model folder is refused naming the file.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type MaSamModel, SPLIT_DECODER_FILE, SPLIT_ENCODER_FILE } from '../src/api/model.js';
import { openModel } from '../src/cli/model_files.js';
import { type HostTensor, Rng } from '../src/core/index.js';
import { makePhantom } from '../src/data/phantom.js';
import type { SlicePrompt } from '../src/data/prompts.js';
import { VolumeSegmenter, segmentVolume } from '../src/infer/segment.js';
import { type StackModel, splitStackModel } from '../src/infer/stack_model.js';
import { OrtSession, type Session } from '../src/runtime/index.js';
import { maxRelDiff } from './compare.js';
import { fixtureInputs, loadFixtureModel } from './fixture_model.js';

const image = fixtureInputs('tiny-a').get('image')! as HostTensor<'float32'>;

/** A session whose runs are counted. */
function counted(session: Session, counter: { runs: number }): Session {
  return {
    inputs: session.inputs,
    outputs: session.outputs,
    run: (feeds, fetch) => {
      counter.runs++;
      return session.run(feeds, fetch);
    },
    release: () => session.release(),
  };
}

describe('split model (tiny-a: encoder.onnx + decoder.onnx)', () => {
  let dir: string;
  let model: MaSamModel;
  // Two stacks: the fixture's, and the same slices in reverse order.
  const per = image.data.length;
  const second = new Float32Array(per);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'masam-split-'));
    model = await loadFixtureModel('tiny-a');
    const slice = per / 5;
    for (let t = 0; t < 5; t++) second.set(image.data.subarray((4 - t) * slice, (5 - t) * slice), t * slice);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the logits of the one-graph export, for a batch of 2 stacks', async () => {
    const split = join(dir, 'split');
    await model.exportSplit(split, { slices: 5, batch: 2, preprocessing: { modality: 'ct' } });
    await model.exportOnnx(join(dir, 'one.onnx'), { slices: 5, preprocessing: { modality: 'ct' } });
    const a = await openModel(split);
    const b = await openModel(join(dir, 'one.onnx'));
    try {
      assert.equal(a.model.batch, 2);
      assert.ok(a.model.split, 'a folder opens as a split model');
      assert.equal(b.model.split, undefined);
      const [s0, s1] = await a.model.logits([image.data, second]);
      const [r0] = await b.model.logits([image.data]);
      const [r1] = await b.model.logits([second]);
      assert.equal(s0!.length, r0!.length);
      // Float32 noise only: the same graph cut in two (the export test's bound).
      assert.ok(maxRelDiff(s0!, r0!) < 1e-6, `stack 0: ${maxRelDiff(s0!, r0!)}`);
      assert.ok(maxRelDiff(s1!, r1!) < 1e-6, `stack 1: ${maxRelDiff(s1!, r1!)}`);
      // A run of one stack in a batch-2 model zero-fills the other slot and gives the same logits.
      const [alone] = await a.model.logits([second]);
      assert.ok(maxRelDiff(alone!, r1!) < 1e-6);
    } finally {
      await a.release();
      await b.release();
    }
  });

  it('box-prompted: a prompt edit re-runs only the decoder, with the labels of a fresh run', async () => {
    const split = join(dir, 'prompted');
    await model.exportSplit(split, { slices: 5, preprocessing: { modality: 'ct' }, prompts: { points: 1 } });
    await model.exportOnnx(join(dir, 'prompted.onnx'), {
      slices: 5,
      preprocessing: { modality: 'ct' },
      prompts: { points: 1 },
    });
    const opened = await openModel(split);
    const one = await openModel(join(dir, 'prompted.onnx'));
    const encoderFile = join(split, SPLIT_ENCODER_FILE);
    const decoderFile = join(split, SPLIT_DECODER_FILE);
    const encoderRuns = { runs: 0 };
    const decoderRuns = { runs: 0 };
    const encoder = counted(await OrtSession.fromFile(encoderFile), encoderRuns);
    const decoder = counted(await OrtSession.fromFile(decoderFile), decoderRuns);
    try {
      const counting: StackModel = splitStackModel(encoder, decoder, opened.info);
      const volume = makePhantom('ct', new Rng(3), { size: [128, 128, 9] }).image;
      const boxes = (x: number): (SlicePrompt | null)[] =>
        Array.from({ length: 9 }, (_, z) =>
          z >= 2 && z <= 6 ? { box: [x, 30, x + 60, 100], points: [{ x: x + 30, y: 60, label: 1 }] } : null,
        );
      const segmenter = new VolumeSegmenter(volume, counting);
      const first = await segmenter.segment({ prompts: boxes(20) });
      const encodedOnce = encoderRuns.runs;
      // Stacks holding a prompted slice (centres 0–8 at stride 1), each once.
      assert.equal(encodedOnce, 9);
      assert.equal(segmenter.encodedStacks, 9);
      const decodedOnce = decoderRuns.runs;
      // Each prompted slice is decoded in every stack that holds it: 5 slices × 5 stacks.
      assert.equal(decodedOnce, 25);

      const edited = await segmenter.segment({ prompts: boxes(40) });
      assert.equal(encoderRuns.runs, encodedOnce, 'the prompt edit ran the encoder');
      assert.equal(decoderRuns.runs, 2 * decodedOnce);
      assert.notDeepEqual(edited.labels.data, first.labels.data, 'the new box changed the labels');
      // The same labels as a run from scratch, on the split model and on the one-graph export.
      const fresh = await segmentVolume(volume, opened.model, { prompts: boxes(40) });
      assert.deepEqual(edited.labels.data, fresh.labels.data);
      const oneGraph = await segmentVolume(volume, one.model, { prompts: boxes(40) });
      assert.deepEqual(edited.labels.data, oneGraph.labels.data);
    } finally {
      await encoder.release();
      await decoder.release();
      await opened.release();
      await one.release();
    }
  });

  it('batched stacks give the labels of single runs; an aborted run stops between model calls', async () => {
    const batched = join(dir, 'batch3');
    await model.exportSplit(batched, { slices: 5, batch: 3, preprocessing: { modality: 'ct' } });
    const three = await openModel(batched);
    const one = await openModel(join(dir, 'one.onnx'));
    try {
      const volume = makePhantom('ct', new Rng(4), { size: [128, 128, 7] }).image;
      const progress: number[] = [];
      const a = await segmentVolume(volume, three.model, { onProgress: (done) => progress.push(done) });
      assert.deepEqual(progress, [3, 6, 7], 'three stacks a run');
      const b = await segmentVolume(volume, one.model);
      assert.deepEqual(a.labels.data, b.labels.data);

      const controller = new AbortController();
      const segmenter = new VolumeSegmenter(volume, three.model);
      await assert.rejects(
        segmenter.segment({
          signal: controller.signal,
          onProgress: () => controller.abort(new DOMException('cancelled by the user', 'AbortError')),
        }),
        (err: Error) => err.name === 'AbortError',
      );
      assert.equal(segmenter.encodedStacks, 3, 'no stack ran after the abort');
    } finally {
      await three.release();
      await one.release();
    }
  });

  it('refuses a folder with one half missing, or halves of different exports, naming the file', async () => {
    const half = join(dir, 'half');
    mkdirSync(half);
    copyFileSync(join(dir, 'split', SPLIT_ENCODER_FILE), join(half, SPLIT_ENCODER_FILE));
    await assert.rejects(openModel(half), /half: the model folder needs both encoder.onnx and decoder.onnx/);
    copyFileSync(join(dir, 'prompted', SPLIT_DECODER_FILE), join(half, SPLIT_DECODER_FILE));
    await assert.rejects(openModel(half), /come from different exports \('masam.prompts' differs\)/);
    copyFileSync(join(dir, 'split', SPLIT_ENCODER_FILE), join(half, SPLIT_DECODER_FILE));
    await assert.rejects(openModel(half), /decoder.onnx: not a split model's decoder/);
  });
});
