// Training options from flags, a config file and run.json: errors name the flag or the file and key,
// defaults are the official recipe, a run.json re-creates its run, and resume changes only what keeps
// the steps taken valid.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  flagOf,
  resolveTrainConfig,
  resumeTrainConfig,
  trainConfigFromFlags,
  trainConfigFromJson,
  trainingDevices,
} from './train_config.js';

describe('training options', () => {
  it('converts flags, naming the flag in errors', () => {
    const given = trainConfigFromFlags({
      data: 'd',
      steps: '300',
      'val-every': '50',
      'log-classes': true,
      threads: '2',
      'model-config': '{"fact_rank": 8}',
    });
    assert.deepEqual(given, {
      data: 'd',
      steps: 300,
      valEvery: 50,
      logClasses: true,
      threads: 2,
      modelConfig: { fact_rank: 8 },
    });
    assert.throws(
      () => trainConfigFromFlags({ steps: 'ten' }),
      /--steps must be a whole number ≥ 0, got "ten"/,
    );
    assert.throws(() => trainConfigFromFlags({ threads: '0' }), /--threads must be a whole number ≥ 1/);
    assert.throws(() => trainConfigFromFlags({ fold: '5' }), /--fold must be a fold 0\.\.4/);
    assert.throws(() => trainConfigFromFlags({ 'val-fraction': '1.5' }), /--val-fraction/);
    assert.equal(flagOf('promptPoints'), '--prompt-points');
    assert.deepEqual(trainConfigFromFlags({ 'micro-batch': '2', recompute: 'none' }), {
      microBatch: 2,
      recompute: 'none',
    });
    assert.throws(() => trainConfigFromFlags({ recompute: 'all' }), /--recompute must be none \| blocks/);
  });

  it('reads a config file, naming the file and key of a bad or unknown option', () => {
    assert.deepEqual(trainConfigFromJson({ data: 'd', lr: 0.001, fold: 2 }, 'train.json'), {
      data: 'd',
      lr: 0.001,
      fold: 2,
    });
    assert.throws(
      () => trainConfigFromJson({ lr: '0.1' }, 'train.json'),
      /train\.json: "lr" must be a number > 0/,
    );
    assert.throws(
      () => trainConfigFromJson({ 'val-every': 5 }, 'train.json'),
      /unknown option "val-every" \(did you mean "valEvery"\?\)/,
    );
    assert.throws(
      () => trainConfigFromJson([], 'train.json'),
      /train\.json: a training config is a JSON object/,
    );
  });

  it('fills the official defaults and checks options that depend on each other', () => {
    const c = resolveTrainConfig({ data: 'd', sam: 'sam.pth' });
    assert.equal(c.init, 'sam');
    assert.equal(c.preset, 'vit_b');
    assert.equal(c.trainable, 'peft');
    assert.deepEqual([c.steps, c.batch, c.lr, c.warmup, c.valEvery], [2000, 2, 0.0008, 250, 200]);
    assert.equal(resolveTrainConfig({ data: 'd', init: 'random' }).preset, 'small');
    assert.throws(() => resolveTrainConfig({ init: 'random' }), /--data is required/);
    assert.throws(() => resolveTrainConfig({ data: 'd' }), /--sam <checkpoint> or --init random/);
    assert.throws(
      () => resolveTrainConfig({ data: 'd', init: 'random', promptPoints: 2 }),
      /needs --prompt box/,
    );
    assert.throws(
      () => resolveTrainConfig({ data: 'd', init: 'random', batch: 4, microBatch: 3 }),
      /--micro-batch 3 must divide --batch 4/,
    );
  });

  it('takes cpu, cuda, cuda:N or one CUDA device per worker, naming a bad --device', () => {
    assert.equal(trainConfigFromFlags({ device: 'cuda:1', workers: '2' }).device, 'cuda:1');
    assert.deepEqual(trainingDevices('cuda:0,cuda:1'), ['cuda:0', 'cuda:1']);
    assert.throws(() => trainConfigFromFlags({ device: 'gpu' }), /--device must be cpu, cuda, cuda:N/);
    assert.throws(() => trainConfigFromFlags({ device: 'cpu,cuda:1' }), /--device must be/);
    assert.throws(
      () => resolveTrainConfig({ data: 'd', init: 'random', device: 'cuda:0,cuda:1', workers: 3 }),
      /--workers 3 but --device lists 2 devices/,
    );
    assert.equal(resolveTrainConfig({ data: 'd', init: 'random', workers: 2 }).workers, 2);
  });

  it('re-creates a run from its run.json: training options and the full model config', () => {
    const training = resolveTrainConfig({
      data: 'd',
      init: 'random',
      steps: 30,
      fold: 1,
      prompt: 'box',
      promptPoints: 1,
    });
    const config = { img_size: 32, num_classes: 2 };
    const runJson = {
      config,
      classNames: ['bg', 'a', 'b'],
      preprocessing: { modality: 'ct' },
      training: { ...training, prompts: { points: 1 } },
    };
    const again = resolveTrainConfig(trainConfigFromJson(runJson, 'run.json'));
    assert.deepEqual(again, { ...training, modelConfig: config });
    // a run.json from before `prompt` was kept: its PromptSpec still says box + 2 points
    const old = { ...runJson, training: { data: 'd', init: 'random', steps: 30, prompts: { points: 2 } } };
    const fromOld = resolveTrainConfig(trainConfigFromJson(old, 'run.json'));
    assert.deepEqual([fromOld.prompt, fromOld.promptPoints], ['box', 2]);
  });

  it('lets a resumed run change its total steps and machine settings, not what it computes', () => {
    const stored = resolveTrainConfig({ data: 'd', init: 'random', steps: 250, batch: 2 });
    const resumed = resumeTrainConfig(stored, { steps: 400, threads: 1, batch: 2, recompute: 'none' });
    assert.deepEqual([resumed.steps, resumed.threads, resumed.batch, resumed.recompute], [400, 1, 2, 'none']);
    assert.throws(
      () => resumeTrainConfig(stored, { batch: 4 }),
      /--batch cannot change when resuming \(the run was made with 2\)/,
    );
    assert.throws(() => resumeTrainConfig(stored, { lr: 0.1 }), /--lr cannot change/);
  });
});
