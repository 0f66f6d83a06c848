// Tests of the one stack sweep (stack_sweep.ts) with stand-in models whose logits are known per call, so the
// averaged probabilities are computable by hand: overlap means, edge copies dropped, prompted stacks only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CT_WINDOW } from './intensity.js';
import type { ModelGrid } from './model_planes.js';
import type { StackPrompts } from './prompts.js';
import { stackCentres } from './slices.js';
import { type StackRunner, sweepStacks } from './stack_sweep.js';

const S = 2;
const PLANE = S * S;
const STACK = { depth: 5, channels: 3 };

/** A CT grid [S, S, nz] of HU noise (the stand-in models below ignore it). */
function grid(nz: number): ModelGrid {
  const data = Float32Array.from({ length: PLANE * nz }, (_, i) => (i * 37) % 400);
  return {
    volume: { shape: [S, S, nz], data },
    input: { nx: S, ny: S, nz, nc: 1 },
    modality: 'ct',
    window: CT_WINDOW,
    size: S,
  };
}

/**
 * A one-stack-a-call model over 2 classes whose class-1 probability at depth position t of call i is
 * `p(i, t)` (logits [0, logit(p)]); it records the prompts of each call.
 */
function probabilityModel(p: (call: number, t: number) => number, seen: StackPrompts[] = []): StackRunner {
  let call = 0;
  return {
    batch: 1,
    async logits(stacks, prompts) {
      if (prompts) seen.push(prompts[0]!);
      const out = new Float32Array(STACK.depth * 2 * PLANE);
      for (let t = 0; t < STACK.depth; t++) {
        const q = p(call, t);
        out.fill(Math.log(q / (1 - q)), (t * 2 + 1) * PLANE, (t * 2 + 2) * PLANE);
      }
      call++;
      return stacks.map(() => out);
    },
  };
}

/** The class-1 probability of each slice after a sweep (pixel 0; all pixels are equal), null: background. */
async function sweepMeans(
  nz: number,
  model: StackRunner,
  options: Partial<Parameters<typeof sweepStacks>[2]> = {},
): Promise<(number | null)[]> {
  const means: (number | null)[] = new Array(nz).fill(undefined);
  await sweepStacks(grid(nz), model, { stack: STACK, classes: 2, ...options }, (z, mean) => {
    assert.equal(means[z], undefined, `slice ${z} finished twice`);
    means[z] = mean && mean[PLANE]!;
  });
  return means;
}

const close = (a: number | null, b: number) => a !== null && Math.abs(a - b) < 1e-6;

describe('sweepStacks (spec 10.2)', () => {
  it('averages a constant probability map back to itself, for any stride', async () => {
    for (const stride of [1, 2, 5]) {
      const means = await sweepMeans(
        7,
        probabilityModel(() => 0.25),
        { stride },
      );
      for (const [z, m] of means.entries()) assert.ok(close(m, 0.25), `stride ${stride} slice ${z}: ${m}`);
    }
  });

  it('averages the 3, 4, 5, …, 5, 4, 3 stacks over each slice at stride 1, and one stack at stride D', async () => {
    // Call i (centre i at stride 1) says (i + 1)/10 everywhere.
    const means = await sweepMeans(
      7,
      probabilityModel((i) => (i + 1) / 10),
    );
    assert.ok(close(means[0]!, (0.1 + 0.2 + 0.3) / 3), `slice 0: ${means[0]}`); // centres 0, 1, 2
    assert.ok(close(means[1]!, (0.1 + 0.2 + 0.3 + 0.4) / 4), `slice 1: ${means[1]}`); // centres 0–3
    assert.ok(close(means[3]!, (0.2 + 0.3 + 0.4 + 0.5 + 0.6) / 5), `slice 3: ${means[3]}`); // centres 1–5
    assert.ok(close(means[6]!, (0.5 + 0.6 + 0.7) / 3), `slice 6: ${means[6]}`); // centres 4, 5, 6
    // Stride 5 over 10 slices: centres 2 and 7, one stack per slice.
    const tiled = await sweepMeans(
      10,
      probabilityModel((i) => (i + 1) / 10),
      { stride: 5 },
    );
    assert.deepEqual(
      tiled.map((m, z) => close(m, z < 5 ? 0.1 : 0.2)),
      new Array(10).fill(true),
    );
  });

  it('drops outputs that fall on edge-replicated copies', async () => {
    // Positions beyond the volume say 0.99; positions on real slices 0.01.
    const nz = 6;
    const centres = stackCentres(nz);
    const model = probabilityModel((i, t) => {
      const z = centres[i]! - 2 + t;
      return z < 0 || z >= nz ? 0.99 : 0.01;
    });
    for (const [z, m] of (await sweepMeans(nz, model)).entries())
      assert.ok(close(m, 0.01), `slice ${z}: ${m}`);
  });

  it('runs only stacks holding a prompted slice, with their prompts; other slices are background', async () => {
    const nz = 12;
    const slices = Array.from({ length: nz }, (_, z) =>
      z === 3 || z === 4 ? { box: [0, 0, z, 1] as const, points: [] } : null,
    );
    const seen: StackPrompts[] = [];
    const means = await sweepMeans(
      nz,
      probabilityModel(() => 0.3, seen),
      { prompts: { slices, spec: { points: 0 } } },
    );
    // Centres 1…6 hold slice 3 or 4.
    assert.equal(seen.length, 6);
    // The stack centred at 1 holds slices [0, 0, 1, 2, 3]: only its last image has a box.
    assert.deepEqual(Array.from(seen[0]!.boxes.subarray(16)), [0, 0, 3, 1]);
    assert.deepEqual(
      means.map((m) => (m === null ? null : Math.round(m * 10) / 10)),
      [null, null, null, 0.3, 0.3, null, null, null, null, null, null, null],
    );
  });

  it('names the sweep when the model returns the wrong number of logits', async () => {
    const model: StackRunner = { batch: 1, logits: async () => [new Float32Array(3)] };
    await assert.rejects(
      sweepStacks(grid(4), model, { stack: STACK, classes: 2, name: 'validation' }, () => {}),
      /validation: the model returned 3 values for a stack, expected logits \[5, 2, 2, 2\] \(40\)/,
    );
  });
});
