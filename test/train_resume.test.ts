// Training loop behaviour: a run interrupted and resumed from its checkpoint ends with exactly the weights
// of an uninterrupted run with the same seed (with and without box/point prompts, whose sampling draws from
// the same rng); and a short run learns (loss goes down).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadMaSam } from '../src/api/model.js';
import { RunDir } from '../src/cli/run_dir.js';
import { Rng } from '../src/core/index.js';
import { makePhantom } from '../src/data/phantom.js';
import { clearCompileCache } from '../src/runtime/index.js';
import type { PromptSpec } from '../src/data/prompts.js';
import { SliceCache, cacheCase } from '../src/train/slice_cache.js';
import { Trainer } from '../src/train/trainer.js';

const CONFIG = {
  preset: 'small',
  img_size: 32,
  depth: 2,
  global_attn_indexes: [1],
  window_size: 2,
  embed_dim: 32,
  num_heads: 2,
  out_chans: 32,
  adapter_channels: 8,
  fact_rank: 4,
  decoder_mlp_dim: 64,
  iou_head_hidden_dim: 32,
  num_classes: 13,
  slices: 3,
} as const;

async function setup(prompts?: PromptSpec) {
  const model = await loadMaSam({ config: CONFIG, seed: 5 });
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

  it('lowers the loss on a phantom within a few steps', async () => {
    const { trainer } = await setup();
    const first = await trainer.trainStep();
    let last = first;
    for (let i = 0; i < 5; i++) last = await trainer.trainStep();
    assert.ok(last.loss < first.loss, `${first.loss} → ${last.loss}`);
  });
});
