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
});
