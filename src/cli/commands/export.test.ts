import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fixturePath } from '../../../test/fixtures.js';
import { modelInfoFromMetadata } from '../../infer/model_info.js';
import { inspectModel } from '../../onnx/inspect.js';
import { clearCompileCache } from '../../runtime/index.js';
import { exportCommand } from './export.js';

describe('masam export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'masam-export-cli-'));
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await clearCompileCache();
  });

  it('writes a model from the official checkpoints with config, classes and preprocessing in its metadata', async () => {
    const out = join(dir, 'tiny.onnx');
    const code = await exportCommand.run([
      '--config',
      fixturePath('tiny-a', 'config.json'),
      '--sam',
      fixturePath('tiny-a', 'sam.pth'),
      '--masam',
      fixturePath('tiny-a', 'masam.pth'),
      '--classes',
      'background,liver,spleen,kidney',
      '--modality',
      'mri',
      '--out',
      out,
    ]);
    assert.equal(code, 0);
    const sig = inspectModel(readFileSync(out), out);
    const info = modelInfoFromMetadata(sig.metadata, out);
    assert.deepEqual(info.classNames, ['background', 'liver', 'spleen', 'kidney']);
    assert.equal(info.preprocessing.modality, 'mri');
    assert.equal(info.slices, 5);
    assert.equal(sig.opset, 17);
    assert.deepEqual(
      sig.outputs.map((o) => [o.name, o.shape]),
      [
        ['masks', [5, 4, 128, 128]],
        ['iou_predictions', [5, 4]],
      ],
    );
  });

  it('refuses class names that disagree with a config.json and leaves no file behind', async () => {
    const out = join(dir, 'bad.onnx');
    await assert.rejects(
      exportCommand.run(['--config', fixturePath('tiny-a', 'config.json'), '--classes', 'a,b', '--out', out]),
      /--classes names 2 classes .*config\.json says num_classes 3/,
    );
    assert.equal(existsSync(out), false);
  });

  it('refuses class names that disagree with the MA-SAM checkpoint, naming it', async () => {
    const out = join(dir, 'bad2.onnx');
    const masam = fixturePath('tiny-a', 'masam.pth');
    await assert.rejects(
      exportCommand.run(['--config', 'small', '--masam', masam, '--classes', 'a,b,c', '--out', out]),
      (err: Error) => err.message.includes(`${masam} holds a decoder for 4 classes`),
    );
    assert.equal(existsSync(out), false);
  });

  it('--config <preset> --classes: the classes set num_classes; a missing --out folder is created', async () => {
    const out = join(dir, 'exported', 'nested', 'm.onnx');
    const code = await exportCommand.run([
      '--config',
      'small',
      '--classes',
      'background,liver',
      '--out',
      out,
    ]);
    assert.equal(code, 0);
    const sig = inspectModel(readFileSync(out), out);
    assert.deepEqual(modelInfoFromMetadata(sig.metadata, out).classNames, ['background', 'liver']);
    assert.deepEqual(sig.outputs.find((o) => o.name === 'masks')?.shape, [5, 2, 128, 128]);
  });

  it('--out <folder> writes a split model (encoder + decoder, batch B) and int8 quantizes only its encoder', async () => {
    const tiny = [
      '--config',
      fixturePath('tiny-a', 'config.json'),
      '--sam',
      fixturePath('tiny-a', 'sam.pth'),
    ];
    const out = join(dir, 'split');
    assert.equal(await exportCommand.run([...tiny, '--out', out, '--batch', '2']), 0);
    const encoder = inspectModel(readFileSync(join(out, 'encoder.onnx')), 'encoder.onnx');
    const decoder = inspectModel(readFileSync(join(out, 'decoder.onnx')), 'decoder.onnx');
    assert.equal(encoder.metadata['masam.part'], 'encoder');
    assert.equal(decoder.metadata['masam.part'], 'decoder');
    assert.deepEqual(
      encoder.inputs.map((i) => i.shape),
      [[2, 5, 3, 128, 128]],
    );
    assert.deepEqual(
      encoder.outputs.map((o) => [o.name, o.shape]),
      [['embeddings', [10, 64, 8, 8]]],
    );
    assert.deepEqual(
      decoder.inputs.map((i) => [i.name, i.shape]),
      [['embeddings', [1, 64, 8, 8]]],
    );

    const int8 = join(dir, 'split-int8');
    assert.equal(await exportCommand.run([...tiny, '--out', int8, '--quantize', 'int8']), 0);
    const q = readFileSync(join(int8, 'encoder.onnx'));
    assert.equal(inspectModel(q, 'encoder.onnx').metadata['masam.quantize'], 'int8');
    assert.ok(
      q.byteLength < 0.6 * readFileSync(join(out, 'encoder.onnx')).byteLength,
      'int8 weights are smaller',
    );
    // The decoder is left in float32, byte for byte the plain export's.
    assert.ok(readFileSync(join(int8, 'decoder.onnx')).equals(readFileSync(join(out, 'decoder.onnx'))));

    await assert.rejects(
      exportCommand.run([...tiny, '--out', join(dir, 'q.onnx'), '--quantize', 'int8']),
      /--quantize int8 quantizes the encoder of a split model: give --out a folder/,
    );
    await assert.rejects(
      exportCommand.run([...tiny, '--out', join(dir, 'b'), '--batch', '0']),
      /--batch must be/,
    );
    assert.equal(existsSync(join(dir, 'q.onnx')), false);
  });
});
