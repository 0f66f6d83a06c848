// Parity of MA-SAM's image encoder with the official implementation (../shared/fixtures tiny-a, tiny-b):
// checkpoint loading (resized pos_embed / rel_pos), patch embedding, every block, the neck.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fixturePath } from '../../../test/fixtures.js';
import { type HostTensor, Rng, float32 } from '../../core/index.js';
import { Graph, type Value } from '../../graph/index.js';
import { readPth } from '../../io/pth.js';
import { readSafetensors } from '../../io/safetensors.js';
import { ParamScope, ParamSource } from '../../nn/index.js';
import * as F from '../../ops/index.js';
import { clearCompileCache, compile } from '../../runtime/index.js';
import { type MaSamConfig, resolveConfig } from '../sam/config.js';
import { applyMaSamCheckpoint, loadSamCheckpoint } from './checkpoint.js';
import { MaSamImageEncoder } from './masam_encoder.js';

function relErr(a: HostTensor, ref: HostTensor): number {
  let maxRef = 0;
  let maxErr = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const r = Number(ref.data[i]);
    maxRef = Math.max(maxRef, Math.abs(r));
    maxErr = Math.max(maxErr, Math.abs(Number(a.data[i]) - r));
  }
  return maxErr / maxRef;
}

function encoderShapes(cfg: MaSamConfig): Map<string, readonly number[]> {
  const source = new ParamSource({ graph: new Graph(), weights: new Map(), shapesOnly: true });
  new MaSamImageEncoder(cfg, new ParamScope(source).pp('image_encoder'));
  return new Map(
    source.declared.map((n) => [
      n,
      source.graph.inputs.find((v) => (v.source as { name: string }).name === n)!.shape,
    ]),
  );
}

for (const fixture of ['tiny-a', 'tiny-b']) {
  describe(`MA-SAM image encoder matches the official outputs (${fixture})`, () => {
    after(clearCompileCache);
    const cfg = resolveConfig(JSON.parse(readFileSync(fixturePath(fixture, 'config.json'), 'utf8')));
    const expected = readSafetensors(
      readFileSync(fixturePath(fixture, 'expected.safetensors')),
      'expected',
    ).tensors;
    const inputs = readSafetensors(
      readFileSync(fixturePath(fixture, 'inputs.safetensors')),
      'inputs',
    ).tensors;
    const shapes = encoderShapes(cfg);
    const sam = readPth(readFileSync(fixturePath(fixture, 'sam.pth')), 'sam.pth');
    const masamCkpt = readPth(readFileSync(fixturePath(fixture, 'masam.pth')), 'masam.pth');
    const encoderCkpt = new Map(
      [...masamCkpt].filter(([k]) => !k.startsWith('prompt_encoder.') && !k.startsWith('mask_decoder.')),
    );
    const { weights } = loadSamCheckpoint(shapes, sam, {
      globalBlocks: cfg.global_attn_indexes,
      source: 'sam.pth',
    });

    it('resizes pos_embed and the global rel_pos tables like load_from (err ≤ 1e-5)', () => {
      for (const [key, ref] of expected) {
        if (!key.startsWith('loaded/')) continue;
        const got = weights.get(key.slice('loaded/'.length))!;
        assert.deepEqual([...got.shape], [...ref.shape], key);
        const err = relErr(got, ref);
        assert.ok(err <= 1e-5, `${key}: ${err}`);
      }
    });

    it('reproduces patch_embed, every block and image_embeddings (err ≤ 2e-5)', async () => {
      const encShapes = new Map([...shapes].filter(([n]) => n.startsWith('image_encoder.')));
      const fresh = new ParamSource({ graph: new Graph(), weights, rng: new Rng(0) });
      new MaSamImageEncoder(cfg, new ParamScope(fresh).pp('image_encoder')); // adapters and FacT start fresh
      applyMaSamCheckpoint(weights, encShapes, encoderCkpt, 'masam.pth');
      const source = new ParamSource({ graph: new Graph(), weights });
      const encoder = new MaSamImageEncoder(cfg, new ParamScope(source).pp('image_encoder'));
      const image = inputs.get('image')!;
      const [b, d, c, h, w] = image.shape as number[];
      const x = source.graph.input('image', 'float32', image.shape);
      // (x − mean) / std per channel, as Sam.preprocess (identity in tiny-a)
      const mean = F.constant(float32([1, 1, 3, 1, 1], cfg.pixel_mean), x);
      const std = F.constant(float32([1, 1, 3, 1, 1], cfg.pixel_std), x);
      const normalized = F.div(F.sub(x, mean), std);
      const out = encoder.forward(F.reshape(normalized, [b! * d!, c!, h!, w!]), d!);
      const fetch: Record<string, Value> = { patch_embed: out.patchEmbed, image_embeddings: out.embeddings };
      out.blocks.forEach((v, i) => {
        fetch[`block_${String(i).padStart(2, '0')}`] = v;
      });
      const result = await (await compile(fetch)).run({ image });
      const errors = Object.entries(result).map(
        ([key, got]) => [key, relErr(got, expected.get(key)!)] as const,
      );
      if (process.env['MASAM_SHOW_ERRORS'])
        console.log(fixture, errors.map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', '));
      for (const [key, err] of errors)
        assert.ok(
          err <= 2e-5,
          `${key}: ${err.toExponential(2)} (${errors.map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', ')})`,
        );
    });
  });
}
