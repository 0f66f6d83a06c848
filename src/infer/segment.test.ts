// Tests of volumetric inference (segment.ts, stacks.ts, overlay.ts) with synthetic "models" whose logits
// are known functions of the input stack, so the expected label map is computable (masam-spec.md 8.1, 10.2).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import { normalizeCtStack } from '../data/intensity.js';
import { argmaxClasses, extractStack, planesToVolume, repeatChannels, stackCentres } from '../data/slices.js';
import { FRAMES_AFFINE } from '../io/frames.js';
import { type Affine, IDENTITY_AFFINE, type Volume } from '../io/volume.js';
import { resolveConfig } from '../models/sam/config.js';
import type { Session } from '../runtime/session.js';
import type { ModelInfo, Preprocessing } from './model_info.js';
import { LABEL_COLOURS, overlayMontage, pickSlices } from './overlay.js';
import { fnModel, type StackFunction } from '../../test/stack_models.js';
import { segmentVolume } from './segment.js';
import { sessionStackModel } from './stack_model.js';

const K = 3;
const AFFINE: Affine = [
  [-0.8, 0, 0, 10],
  [0, -0.7, 0, -5],
  [0, 0, 2.5, 30],
  [0, 0, 0, 1],
];

function infoFor(modality: Preprocessing['modality'], size = 16, slices = 5): ModelInfo {
  const config = resolveConfig({ preset: 'small', img_size: size, patch_size: 16, num_classes: K - 1 });
  const classNames = ['background', 'soft', 'dense'];
  return { config, classNames, preprocessing: { modality }, slices, imageSize: size };
}

/** HU levels; every slice holds −1000 and 1000, so every stack's min-max is the HU window itself. */
const HU = [-1000, -150, 20, 180, 1000];
/** The class of a [0, 1] value; the HU levels map to 0, 0.11, 0.49, 0.84, 1 (far from the thresholds). */
const classOf = (v: number) => (v < 0.3 ? 0 : v < 0.7 ? 1 : 2);
const classOfHu = (hu: number) => classOf((Math.min(Math.max(hu, -200), 250) + 200) / 450);

/** An asymmetric HU pattern, different on every slice, [nx, ny, nz] int16. */
function ctVolume(
  nx: number,
  ny: number,
  nz: number,
  level = (i: number, j: number, k: number) => i * i + 3 * j + 2 * k * k + k,
  levels = HU,
): Volume<'int16'> {
  const data = new Int16Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = levels[level(i, j, k) % 5]!;
  return { data, dtype: 'int16', shape: [nx, ny, nz], spacing: [0.8, 0.7, 2.5], affine: AFFINE };
}

/** Logits [D, K, S, S]: 4 for the class of the (channel 0) input pixel, plus an optional bias(t, c). */
function pointRunner(
  info: ModelInfo,
  options: { bias?: (t: number, c: number, call: number) => number; seen?: Float32Array[] } = {},
): StackFunction {
  const d = info.slices;
  const plane = info.imageSize * info.imageSize;
  let call = 0;
  return async (stack) => {
    options.seen?.push(stack.slice());
    const out = new Float32Array(d * K * plane);
    for (let t = 0; t < d; t++) {
      for (let p = 0; p < plane; p++) {
        const v = stack[t * 3 * plane + p]!;
        for (let c = 0; c < K; c++) {
          out[(t * K + c) * plane + p] = (c === classOf(v) ? 4 : 0) + (options.bias?.(t, c, call) ?? 0);
        }
      }
    }
    call++;
    return out;
  };
}

function expectedLabels(volume: Volume): Uint8Array {
  return Uint8Array.from(volume.data as Int16Array, (hu) => classOfHu(hu));
}

describe('segmentVolume (spec 10.2)', () => {
  it("puts each voxel's class back on that voxel, first and last slices included, geometry kept", async () => {
    const info = infoFor('ct');
    const volume = ctVolume(16, 16, 7);
    const { labels, stacks } = await segmentVolume(volume, fnModel(info, pointRunner(info)));
    assert.equal(stacks, 7);
    assert.deepEqual(labels.shape, [16, 16, 7]);
    assert.deepEqual(labels.spacing, [0.8, 0.7, 2.5]);
    assert.deepEqual(labels.affine, AFFINE);
    assert.deepEqual(labels.data, expectedLabels(volume));
  });

  it('feeds the official orientation, edge-replicated slices, 3 equal channels, the CT window on 0–1', async () => {
    const info = infoFor('ct');
    const [nx, ny, nz] = [16, 16, 6];
    const volume = ctVolume(nx, ny, nz);
    const seen: Float32Array[] = [];
    await segmentVolume(volume, fnModel(info, pointRunner(info, { seen })));
    const centres = stackCentres(nz);
    assert.equal(seen.length, centres.length);
    seen.forEach((stack, s) => {
      assert.equal(stack.length, 5 * 3 * nx * ny);
      for (let t = 0; t < 5; t++) {
        const z = Math.min(Math.max(centres[s]! - 2 + t, 0), nz - 1);
        for (let r = 0; r < ny; r++) {
          for (let c = 0; c < nx; c++) {
            // out[r, c] = vol[nx−1−c, ny−1−r] (spec 8.1)
            const hu = volume.data[nx - 1 - c + nx * (ny - 1 - r + ny * z)]!;
            const want = (Math.min(Math.max(hu, -200), 250) + 200) / 450;
            for (let ch = 0; ch < 3; ch++) {
              const got = stack[((t * 3 + ch) * ny + r) * nx + c]!;
              assert.ok(
                Math.abs(got - want) < 1e-5,
                `stack ${s} t ${t} (${r}, ${c}) ch ${ch}: ${got} vs ${want}`,
              );
            }
          }
        }
      }
    });
  });

  for (const stride of [1, 2, 5]) {
    it(`equals the official sweep averaged by hand (depth-dependent outputs, stride ${stride})`, async () => {
      const info = infoFor('ct');
      const [nx, ny, nz] = [16, 16, 9];
      const volume = ctVolume(nx, ny, nz);
      // A bias that depends on the depth position t: merging an edge copy's output would show.
      const bias = (t: number, c: number, call: number) => 3.5 * Math.sin(1.7 * t + 0.9 * c + 0.37 * call);
      const result = await segmentVolume(volume, fnModel(info, pointRunner(info, { bias })), {
        stride,
        probabilities: true,
      });
      // Reference: the official procedure from data/slices.ts building blocks, averaged by hand (output t
      // of the stack centred at c belongs to slice c + t − 2; edge copies dropped).
      const runner = pointRunner(info, { bias });
      const plane = nx * ny;
      const sums = new Float32Array(nz * K * plane);
      const counts = new Int32Array(nz);
      for (const centre of stackCentres(nz, { stride })) {
        const st = extractStack(volume, centre);
        const input = repeatChannels(hostTensor('float32', st.shape, normalizeCtStack(st.data)));
        const logits = await runner(input.data);
        const probs = new Float32Array(logits.length);
        for (let t = 0; t < 5; t++) {
          for (let p = 0; p < plane; p++) {
            const e = [0, 1, 2].map((c) => Math.exp(logits[(t * K + c) * plane + p]!));
            const sum = e[0]! + e[1]! + e[2]!;
            for (let c = 0; c < K; c++) probs[(t * K + c) * plane + p] = e[c]! / sum;
          }
        }
        for (let t = 0; t < 5; t++) {
          const z = centre - 2 + t;
          if (z < 0 || z >= nz) continue;
          for (let i = 0; i < K * plane; i++) sums[z * K * plane + i]! += probs[t * K * plane + i];
          counts[z]!++;
        }
      }
      const mean = hostTensor(
        'float32',
        [nz, K, ny, nx],
        sums.map((v, i) => v / counts[Math.floor(i / (K * plane))]!),
      );
      assert.equal(result.stacks, stackCentres(nz, { stride }).length);
      const want = planesToVolume(argmaxClasses(mean) as Uint8Array, volume);
      assert.deepEqual(result.labels.data, want.data);
      const n = nx * ny * nz;
      for (let c = 0; c < K; c++) {
        const planes = new Float32Array(n);
        for (let z = 0; z < nz; z++) {
          planes.set(mean.data.subarray((z * K + c) * nx * ny, (z * K + c + 1) * nx * ny), z * nx * ny);
        }
        const ref = planesToVolume(planes, volume).data;
        const got = result.probabilities!.data.subarray(c * n, (c + 1) * n);
        for (let i = 0; i < n; i++) assert.ok(Math.abs(got[i]! - ref[i]!) < 1e-6, `class ${c} voxel ${i}`);
      }
    });
  }

  it('returns probabilities [nx, ny, nz, K] that sum to 1 and whose argmax is the label map', async () => {
    const info = infoFor('ct');
    const volume = ctVolume(16, 16, 5);
    const bias = (t: number, c: number) => Math.cos(t + 2 * c);
    const { labels, probabilities } = await segmentVolume(
      volume,
      fnModel(info, pointRunner(info, { bias })),
      {
        probabilities: true,
      },
    );
    assert.ok(probabilities);
    assert.deepEqual(probabilities.shape, [16, 16, 5, K]);
    assert.deepEqual(probabilities.affine, AFFINE);
    const n = 16 * 16 * 5;
    for (let v = 0; v < n; v++) {
      const p = [0, 1, 2].map((c): number => probabilities.data[c * n + v]!);
      assert.ok(Math.abs(p[0]! + p[1]! + p[2]! - 1) < 1e-5);
      assert.equal(labels.data[v], p.indexOf(Math.max(...p)));
    }
  });

  it('with stride D runs non-overlapping stacks and still labels every slice', async () => {
    const info = infoFor('ct');
    const volume = ctVolume(16, 16, 15);
    let calls = 0;
    const inner = pointRunner(info);
    const progress: [number, number][] = [];
    const r = await segmentVolume(
      volume,
      fnModel(info, (s) => {
        calls++;
        return inner(s);
      }),
      { stride: 5, onProgress: (done, total) => progress.push([done, total]) },
    );
    assert.equal(calls, 3);
    assert.equal(r.stacks, 3);
    assert.deepEqual(progress, [
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    assert.deepEqual(r.labels.data, expectedLabels(volume));
  });

  it('handles volumes with fewer slices than a stack, and refuses a single slice (a 2D image)', async () => {
    const info = infoFor('ct');
    for (const nz of [2, 3, 4]) {
      const volume = ctVolume(16, 16, nz);
      const { labels } = await segmentVolume(volume, fnModel(info, pointRunner(info)));
      assert.deepEqual(labels.data, expectedLabels(volume));
    }
    await assert.rejects(
      segmentVolume(ctVolume(16, 16, 1), fnModel(info, pointRunner(info)), { source: 'slice.nii' }),
      /slice\.nii: a 2D image \[16, 16, 1\] \(one slice\)/,
    );
  });

  for (const [nx, ny] of [
    [20, 26],
    [40, 36],
  ] as const) {
    it(`resizes ${nx}×${ny} planes to S and the labels back onto the input grid`, async () => {
      const info = infoFor('ct', 32);
      // Bands 6 voxels wide with steps of at most the window (cubic ringing stays small): 2 voxels
      // or more inside a band, the label must be exact. The window ends keep the stack min-max fixed.
      const level = (i: number, j: number, k: number) => Math.floor(i / 6) + 2 * Math.floor(j / 6) + k;
      const volume = ctVolume(nx, ny, 4, level, [-200, -150, 20, 180, 250]);
      const { labels } = await segmentVolume(volume, fnModel(info, pointRunner(info)));
      assert.deepEqual(labels.shape, [nx, ny, 4]);
      const want = expectedLabels(volume);
      let checked = 0;
      for (let k = 0; k < 4; k++) {
        for (let j = 0; j < ny; j++) {
          for (let i = 0; i < nx; i++) {
            const interior = i % 6 >= 2 && i % 6 <= 3 && j % 6 >= 2 && j % 6 <= 3;
            const v = i + nx * (j + ny * k);
            if (interior) {
              assert.equal(labels.data[v], want[v], `voxel (${i}, ${j}, ${k})`);
              checked++;
            }
          }
        }
      }
      assert.ok(checked > 0);
    });
  }

  it('runs MRI with the per-volume and per-stack normalisation (stacks on 0–1)', async () => {
    const info = infoFor('mri');
    const volume = ctVolume(16, 16, 6);
    const seen: Float32Array[] = [];
    const { labels } = await segmentVolume(volume, fnModel(info, pointRunner(info, { seen })));
    assert.deepEqual(labels.shape, [16, 16, 6]);
    for (const stack of seen) {
      const min = stack.reduce((a, b) => Math.min(a, b));
      const max = stack.reduce((a, b) => Math.max(a, b));
      assert.equal(min, 0);
      assert.ok(max > 0.999 && max <= 1);
    }
  });

  it('feeds video frames as their RGB channels / 255 and labels each frame', async () => {
    const info = infoFor('video');
    const [nx, ny, nz] = [16, 16, 4];
    const plane = nx * ny;
    const data = new Uint8Array(plane * nz * 3);
    // Channel c of voxel v: a distinct value per channel, the largest channel varies over the voxels.
    for (let v = 0; v < plane * nz; v++)
      for (let c = 0; c < 3; c++) data[c * plane * nz + v] = 10 + 60 * ((v * 7 + c * 5 + (v >> 3)) % 4) + c;
    const volume: Volume<'uint8'> = {
      data,
      dtype: 'uint8',
      shape: [nx, ny, nz, 3],
      spacing: [1, 1, 1, 1],
      affine: FRAMES_AFFINE,
    };
    const run: StackFunction = async (stack) => {
      const out = new Float32Array(5 * K * plane);
      for (let t = 0; t < 5; t++)
        for (let c = 0; c < 3; c++)
          for (let p = 0; p < plane; p++) {
            const x = stack[(t * 3 + c) * plane + p]!;
            assert.ok(x >= 0 && x <= 1);
            out[(t * K + c) * plane + p] = 10 * x;
          }
      return out;
    };
    const { labels } = await segmentVolume(volume, fnModel(info, run));
    assert.deepEqual(labels.shape, [nx, ny, nz]);
    assert.deepEqual(labels.affine, FRAMES_AFFINE);
    for (let v = 0; v < plane * nz; v++) {
      const rgb = [0, 1, 2].map((c) => data[c * plane * nz + v]!);
      assert.equal(labels.data[v], rgb.indexOf(Math.max(...rgb)), `voxel ${v}`);
    }
  });

  it('rejects a modality mismatch naming the input and both modalities', async () => {
    const rgb: Volume<'uint8'> = {
      data: new Uint8Array(16 * 16 * 2 * 3),
      dtype: 'uint8',
      shape: [16, 16, 2, 3],
      spacing: [1, 1, 1, 1],
      affine: IDENTITY_AFFINE,
      source: { format: 'frames' }, // a 4th axis of 3 alone is not colour (describeVolumeContent)
    };
    const ct = infoFor('ct');
    await assert.rejects(
      segmentVolume(rgb, fnModel(ct, pointRunner(ct)), { source: 'clip/' }),
      /clip\/: the model is for CT.*RGB frames.*video/,
    );
    const video = infoFor('video');
    await assert.rejects(
      segmentVolume(ctVolume(16, 16, 3), fnModel(video, pointRunner(video)), { source: 'a.nii.gz' }),
      /a\.nii\.gz: the model is for video.*grey 3D volume/,
    );
  });

  it('rejects a runner that returns the wrong number of logits', async () => {
    const info = infoFor('ct');
    await assert.rejects(
      segmentVolume(
        ctVolume(16, 16, 3),
        fnModel(info, async () => new Float32Array(10)),
      ),
      /returned 10 values.*\[5, 3, 16, 16\]/,
    );
  });
});

describe('segmentVolume with prompts (box-prompted model)', () => {
  const info: ModelInfo = { ...infoFor('ct'), prompts: { points: 1 } };
  const box = (k: number) => ({ box: [k, 1, 9, 10] as const, points: [] });

  it('runs only stacks holding a prompted slice, feeds their prompts, and leaves the rest background', async () => {
    const volume = ctVolume(16, 16, 14);
    const prompts = Array.from({ length: 14 }, (_, k) => (k >= 6 && k <= 8 ? box(k) : null));
    const fed: { boxes: number[]; labels: number[] }[] = [];
    const inner = pointRunner(info);
    const r = await segmentVolume(
      volume,
      fnModel(info, (stack, p) => {
        fed.push({ boxes: Array.from(p!.boxes), labels: Array.from(p!.pointLabels) });
        return inner(stack);
      }),
      { prompts, probabilities: true },
    );
    // Centres 4..10 hold one of slices 6..8 (h = 2).
    assert.equal(r.stacks, 7);
    assert.equal(fed.length, 7);
    // The stack centred at 4 (slices 2..6): slices 2..5 borrow slice 6's box.
    assert.deepEqual(fed[0]!.boxes, [6, 1, 9, 10, 6, 1, 9, 10, 6, 1, 9, 10, 6, 1, 9, 10, 6, 1, 9, 10]);
    // The stack centred at 7: each prompted slice its own box.
    assert.deepEqual(fed[3]!.boxes.slice(4, 16), [6, 1, 9, 10, 7, 1, 9, 10, 8, 1, 9, 10]);
    assert.deepEqual(fed[3]!.labels, [-1, -1, -1, -1, -1]);
    const expected = expectedLabels(volume);
    const plane = 16 * 16;
    const n = plane * 14;
    for (let k = 0; k < 14; k++) {
      const got = r.labels.data.subarray(k * plane, (k + 1) * plane);
      if (k >= 6 && k <= 8) assert.deepEqual(got, expected.subarray(k * plane, (k + 1) * plane));
      else {
        assert.ok(
          got.every((v) => v === 0),
          `slice ${k} is background`,
        );
        for (let v = k * plane; v < (k + 1) * plane; v++) {
          assert.equal(r.probabilities!.data[v], 1);
          assert.equal(r.probabilities!.data[n + v], 0);
        }
      }
    }
  });

  it('needs prompts for a prompted model and refuses them for a model without', async () => {
    const volume = ctVolume(16, 16, 6);
    const run = pointRunner(info);
    await assert.rejects(
      segmentVolume(volume, fnModel(info, run), { source: 'ct.nii' }),
      /ct\.nii: the model is box-prompted/,
    );
    await assert.rejects(
      segmentVolume(volume, fnModel(infoFor('ct'), run), {
        prompts: new Array(6).fill(box(0)),
        source: 'ct.nii',
      }),
      /ct\.nii: the model takes no prompts/,
    );
    await assert.rejects(
      segmentVolume(volume, fnModel(info, run), { prompts: [box(0)] }),
      /prompts for 1 slices, the volume has 6/,
    );
  });
});

describe('sessionStackModel', () => {
  const info = infoFor('ct');
  const per = 5 * 3 * 16 * 16;
  const fake = (batch: number, fed: Float32Array[]): Session => ({
    inputs: [{ name: 'image', dtype: 'float32', shape: [batch, 5, 3, 16, 16] }],
    outputs: [{ name: 'masks', dtype: 'float32', shape: [batch * 5, K, 16, 16] }],
    async run(feeds) {
      const image = feeds['image']!.data as Float32Array;
      fed.push(image);
      // Row n of the masks holds n.
      const masks = new Float32Array(batch * 5 * K * 256);
      for (let n = 0; n < batch * 5; n++) masks.fill(n, n * K * 256, (n + 1) * K * 256);
      return { masks: hostTensor('float32', [batch * 5, K, 16, 16], masks) };
    },
    release: async () => undefined,
  });

  it("pads a batch-2 model with zeros and returns the first stack's rows", async () => {
    const fed: Float32Array[] = [];
    const model = sessionStackModel(fake(2, fed), info);
    const [out] = await model.logits([new Float32Array(per).fill(0.5)]);
    if (!out) throw new Error('no logits');
    assert.equal(out.length, 5 * K * 256);
    assert.equal(out[out.length - 1], 4);
    assert.equal(fed[0]!.length, 2 * per);
    assert.equal(fed[0]![per - 1], 0.5);
    assert.equal(fed[0]![per], 0);
  });

  it('feeds boxes and point slots of a prompted model, padding other batch slots', async () => {
    const prompted: ModelInfo = { ...info, prompts: { points: 2 } };
    const feeds: Record<string, HostTensor>[] = [];
    const session: Session = {
      inputs: [
        { name: 'image', dtype: 'float32', shape: [2, 5, 3, 16, 16] },
        { name: 'boxes', dtype: 'float32', shape: [10, 4] },
        { name: 'point_coords', dtype: 'float32', shape: [10, 2, 2] },
        { name: 'point_labels', dtype: 'float32', shape: [10, 2] },
      ],
      outputs: [{ name: 'masks', dtype: 'float32', shape: [10, K, 16, 16] }],
      async run(f) {
        feeds.push(f);
        return { masks: hostTensor('float32', [10, K, 16, 16], new Float32Array(10 * K * 256)) };
      },
      release: async () => undefined,
    };
    const model = sessionStackModel(session, prompted);
    const boxes = Float32Array.from({ length: 20 }, (_, i) => i + 1);
    const pointCoords = new Float32Array(20).fill(3);
    const pointLabels = new Float32Array(10).fill(1);
    await model.logits([new Float32Array(per)], [{ boxes, pointCoords, pointLabels }]);
    const f = feeds[0]!;
    assert.deepEqual(Array.from(f['boxes']!.data as Float32Array).slice(0, 20), Array.from(boxes));
    assert.ok((f['boxes']!.data as Float32Array).subarray(20).every((v) => v === 0));
    assert.deepEqual(Array.from(f['point_labels']!.data as Float32Array), [
      ...new Array(10).fill(1),
      ...new Array(10).fill(-1),
    ]);
    assert.equal(f['point_coords']!.shape.join(), '10,2,2');
    await assert.rejects(model.logits([new Float32Array(per)]), /the model is box-prompted, give prompts/);
    assert.throws(
      () => sessionStackModel({ ...session, inputs: session.inputs.slice(0, 2) }, prompted),
      /input 'point_coords' float32 \[10, 2, 2\] is missing/,
    );
  });

  it('rejects a session whose input does not match the metadata', () => {
    assert.throws(() => sessionStackModel(fake(1, []), infoFor('ct', 32)), /\[B, 5, 3, 32, 32\]/);
  });
});

describe('overlayMontage', () => {
  const grey = (affine: Affine): Volume<'float32'> => {
    const data = new Float32Array(8 * 6 * 4).fill(-1000); // black in the CT window
    data[0 + 8 * (0 + 6 * 2)] = 250; // voxel (0, 0, 2): white in the CT window
    return { data, dtype: 'float32', shape: [8, 6, 4], spacing: [1, 1, 1], affine };
  };
  const labels = (): Volume<'uint8'> => {
    const data = new Uint8Array(8 * 6 * 4);
    data[7 + 8 * (5 + 6 * 2)] = 1; // voxel (7, 5, 2)
    return { data, dtype: 'uint8', shape: [8, 6, 4], spacing: [1, 1, 1], affine: IDENTITY_AFFINE };
  };
  const pixel = (img: { width: number; rgba: Uint8Array }, x: number, y: number) =>
    Array.from(img.rgba.subarray(4 * (y * img.width + x), 4 * (y * img.width + x) + 4));

  // Tiles of 64 × 48 (scale 8): the corner voxels' pixels lie clear of the slice label and the R/L marks.
  it('picks the labelled slices and shows LPS-stored voxels upright, RAS-stored ones flipped', () => {
    assert.deepEqual(pickSlices(labels(), 6), [2]);
    assert.deepEqual(pickSlices({ shape: [2, 2, 10], data: new Uint8Array(40) }, 3), [1, 5, 8]);
    const lps = overlayMontage(grey(FRAMES_AFFINE), labels(), { modality: 'ct', tile: 64 });
    assert.deepEqual([lps.width, lps.legendTop], [64, 48]);
    assert.deepEqual(pixel(lps, 0, 0), [255, 255, 255, 255]);
    const colour = LABEL_COLOURS[0]!.map((c) => Math.round(0.5 * c));
    assert.deepEqual(pixel(lps, 63, 47), [...colour, 255]);
    const ras = overlayMontage(grey(IDENTITY_AFFINE), labels(), { modality: 'ct', tile: 64 });
    assert.deepEqual(pixel(ras, 63, 47), [255, 255, 255, 255]);
    assert.deepEqual(pixel(ras, 0, 0), [...colour, 255]);
  });

  it('enlarges small tiles by an integer factor and lays several slices out in a grid', () => {
    const lab = labels();
    (lab.data as Uint8Array).fill(2, 0, 8 * 6 * 4);
    const img = overlayMontage(grey(FRAMES_AFFINE), lab, { modality: 'ct', slices: 4, columns: 2, tile: 32 });
    // 4 slices in 2 × 2 tiles of 32 × 24 (scale 4) with 4-pixel gaps, the legend below them.
    assert.deepEqual([img.width, img.legendTop], [68, 52]);
    assert.ok(img.height > img.legendTop);
  });
});
