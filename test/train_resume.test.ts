// Training loop behaviour: a run interrupted and resumed from its checkpoint ends with exactly the weights
// of an uninterrupted run with the same seed (with and without box/point prompts, whose sampling draws from
// the same rng), through the Trainer and through train/loop.ts (the loop the CLI runs, without the CLI);
// and a short run learns (loss goes down).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadMaSam } from '../src/api/model.js';
import { RunDir } from '../src/cli/run_dir.js';
import { Rng } from '../src/core/index.js';
import { makePhantom } from '../src/data/phantom.js';
import { clearCompileCache } from '../src/runtime/index.js';
import type { PromptSpec } from '../src/data/prompts.js';
import { trainRun } from '../src/train/loop.js';
import { SliceCache, cacheCase } from '../src/train/slice_cache.js';
import { resolveTrainConfig, trainingRecord } from '../src/train/train_config.js';
import { Trainer } from '../src/train/trainer.js';
import { TINY_CONFIG } from './tiny_model.js';

async function setup(prompts?: PromptSpec) {
  const model = await loadMaSam({ config: TINY_CONFIG, seed: 5 });
  const p = makePhantom('ct', new Rng(3), { size: [40, 40, 8] });
  const data = new SliceCache([cacheCase('a', p.image, p.label, 32, 'ct')], 32, 'ct');
  const options = {
    steps: 6,
    batch: 1,
    baseLr: 1e-3,
    warmup: 2,
    weightDecay: 0.1,
    seed: 9,
    ...(prompts && { prompts }),
  };
  return {
    model,
    trainer: new Trainer(model.config, model.weights, model.allTrainableNames(), data, options),
    data,
    options,
  };
}

describe('training loop', () => {
  after(clearCompileCache);

  for (const prompts of [undefined, { points: 2 }]) {
    it(`resuming from a checkpoint reproduces the uninterrupted run exactly${prompts ? ' (box + point prompts)' : ''}`, async () => {
      const straight = await setup(prompts);
      const losses: number[] = [];
      for (let i = 0; i < 6; i++) losses.push((await straight.trainer.trainStep()).loss);

      const first = await setup(prompts);
      for (let i = 0; i < 3; i++) await first.trainer.trainStep();
      const dir = mkdtempSync(join(tmpdir(), 'masam-resume-'));
      try {
        const run = new RunDir(dir);
        await run.saveCheckpoint(
          'latest.safetensors',
          first.model.weights,
          first.trainer.optimizerTensors(),
          {
            ...first.trainer.state(),
            bestScore: 0,
            bestStep: 0,
          },
        );
        // a fresh process: new model, weights and state from the checkpoint only
        const second = await setup(prompts);
        const { tensors, state } = await run.readCheckpoint('latest.safetensors');
        for (const name of second.model.weights.keys()) {
          const t = tensors.get(name)!;
          second.model.weights.set(name, { dtype: 'float32', shape: t.shape, data: t.data as Float32Array });
        }
        const trainer = new Trainer(
          second.model.config,
          second.model.weights,
          second.model.allTrainableNames(),
          second.data,
          second.options,
        );
        trainer.restore(state!, tensors);
        const resumedLosses: number[] = [];
        for (let i = 0; i < 3; i++) resumedLosses.push((await trainer.trainStep()).loss);
        assert.deepEqual(resumedLosses, losses.slice(3));
        for (const [name, w] of straight.model.weights) {
          assert.deepEqual(second.model.weights.get(name)!.data, w.data, name);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('runs the loop of train/ without the CLI: a stop request saves latest, resume ends on the uninterrupted weights', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'masam-loop-'));
    const settings = resolveTrainConfig({
      ...{ data: 'unused', init: 'random', steps: 4, batch: 1, lr: 1e-3, warmup: 2, seed: 9, valEvery: 2 },
    });
    const loop = async (out: string, extra: { stopAt?: number; resume?: boolean }) => {
      const { model, data } = await setup();
      const stop = new AbortController();
      let exported = 0;
      const run = new RunDir(out);
      const { lock } = await run.open();
      const classNames = ['background', ...Array.from({ length: 13 }, (_, i) => `c${i + 1}`)];
      const training = trainingRecord(settings);
      await run.writeInfo({ config: model.config, classNames, preprocessing: { modality: 'ct' }, training });
      const outcome = await trainRun({
        run,
        config: model.config,
        weights: model.weights,
        trainable: model.allTrainableNames(),
        trainData: data,
        valData: data,
        training: settings,
        classNames,
        signal: stop.signal,
        onStep: (p) => {
          if (p.step === extra.stopAt) stop.abort();
        },
        ...(extra.resume && { resume: true }),
        exportModel: async () => {
          exported += 1;
        },
      });
      await lock.release();
      return { outcome, exported };
    };
    try {
      const straight = await loop(join(dir, 'straight'), {});
      assert.deepEqual([straight.outcome.status, straight.exported], ['done', 1]);
      const stopped = await loop(join(dir, 'stopped'), { stopAt: 1 });
      assert.deepEqual(
        [stopped.outcome.status, stopped.outcome.step, stopped.exported],
        ['interrupted', 1, 0],
      );
      const resumed = await loop(join(dir, 'stopped'), { resume: true });
      assert.deepEqual([resumed.outcome.status, resumed.outcome.step], ['done', 4]);
      assert.ok(existsSync(join(dir, 'stopped', 'masam.pth')));
      const a = await new RunDir(join(dir, 'straight')).readCheckpoint('latest.safetensors');
      const b = await new RunDir(join(dir, 'stopped')).readCheckpoint('latest.safetensors');
      assert.deepEqual(b.state?.step, 4);
      for (const [name, t] of a.tensors) assert.deepEqual(b.tensors.get(name)!.data, t.data, name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lowers the loss on a phantom within a few steps', async () => {
    const { trainer } = await setup();
    const first = await trainer.trainStep();
    let last = first;
    for (let i = 0; i < 5; i++) last = await trainer.trainStep();
    assert.ok(last.loss < first.loss, `${first.loss} → ${last.loss}`);
  });
});
