// The model as volumetric inference sees it (issue 13): normalised stacks [D, 3, S, S] in, class logits
// [D, K, S, S] out, `batch` stacks a run. An exported model comes in two forms (api/model.ts):
// - one graph (`exportOnnx`, every model exported before the split): image (+ prompts) → masks;
// - a split model (`exportSplit`, a folder of encoder.onnx + decoder.onnx): the image encoder runs once per
//   stack (the 3D adapters mix its D slices), the prompt encoder + mask decoder once per slice image. SAM
//   was built this way so that the heavy encoder never sees prompts: a caller that keeps the embeddings
//   (infer/segment.ts, VolumeSegmenter) re-runs only the decoder when a prompt changes.
// Browser-safe: sessions are onnxruntime-node's in the CLI and onnxruntime-web's in the viewer.
import { MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import type { StackPrompts } from '../data/prompts.js';
import { type SplitStages, type StackRunner, imagePrompt } from '../data/stack_sweep.js';
import type { Session } from '../runtime/session.js';
import type { ModelInfo } from './model_info.js';

export { type SplitStages, imagePrompt } from '../data/stack_sweep.js';

/** A StackRunner (the model as data/stack_sweep.ts sees it) with the exported model's metadata. */
export interface StackModel extends StackRunner {
  readonly info: ModelInfo;
}

/** `parts` (each `per` values) in the first slots of a [slots·per] buffer, `fill` elsewhere. */
function packSlots(parts: readonly Float32Array[], per: number, slots: number, fill = 0): Float32Array {
  if (parts.length === 1 && slots === 1) return parts[0]!;
  const out = new Float32Array(slots * per);
  if (fill !== 0) out.fill(fill, parts.length * per);
  parts.forEach((p, i) => {
    out.set(p, i * per);
  });
  return out;
}

/** Checks the number of stacks of a call and the length of each. */
function checkStacks(stacks: readonly Float32Array[], batch: number, per: number, shape: string): void {
  if (stacks.length < 1 || stacks.length > batch)
    throw new MasamError(`stack model: ${stacks.length} stacks in one run, the model takes 1 to ${batch}`);
  for (const s of stacks) {
    if (s.length !== per)
      throw new MasamError(`stack model: a stack of ${s.length} values, expected ${shape}`);
  }
}

/** The `image` input [B, D, C, S, S] of a session, checked against the metadata; returns B. */
function imageBatch(session: Session, info: ModelInfo): number {
  const spec = session.inputs.find((s) => s.name === 'image');
  const [d, c, size] = [info.slices, info.config.in_chans, info.imageSize];
  const shape = spec?.shape ?? [];
  if (
    !spec ||
    spec.dtype !== 'float32' ||
    shape.length !== 5 ||
    shape[1] !== d ||
    shape[2] !== c ||
    shape[3] !== size ||
    shape[4] !== size
  ) {
    const found = session.inputs.map((s) => `${s.name} ${s.dtype}[${s.shape.join(', ')}]`).join(', ');
    throw new MasamError(
      `model: expected input 'image' float32 [B, ${d}, ${c}, ${size}, ${size}], found inputs ${found || 'none'}`,
    );
  }
  return shape[0]!;
}

/** Checks that a session has float32 output `name`. */
function checkOutput(session: Session, name: string): void {
  if (!session.outputs.some((s) => s.name === name)) {
    const found = session.outputs.map((s) => s.name).join(', ');
    throw new MasamError(`model: expected output '${name}', found ${found || 'none'}`);
  }
}

/** The prompt inputs of a box-prompted model's session for `images` images, checked against its metadata. */
function promptFeedShapes(session: Session, points: number, images: number): Record<string, number[]> {
  const expected: Record<string, number[]> = { boxes: [images, 4] };
  if (points > 0) {
    expected['point_coords'] = [images, points, 2];
    expected['point_labels'] = [images, points];
  }
  for (const [name, dims] of Object.entries(expected)) {
    const spec = session.inputs.find((s) => s.name === name);
    if (!spec || spec.dtype !== 'float32' || spec.shape.join() !== dims.join()) {
      throw new MasamError(
        `model: its metadata says box-prompted, but input '${name}' float32 [${dims.join(', ')}] is ` +
          (spec ? `${spec.dtype} [${spec.shape.join(', ')}]` : 'missing'),
      );
    }
  }
  return expected;
}

/** Prompt feeds of `prompts` (one entry per slot filled) into `slots` slots of `perSlot` images. */
function promptFeeds(
  shapes: Record<string, number[]>,
  prompts: readonly StackPrompts[],
  perSlot: number,
  slots: number,
  points: number,
): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {
    boxes: hostTensor(
      'float32',
      shapes['boxes']!,
      packSlots(
        prompts.map((p) => p.boxes),
        perSlot * 4,
        slots,
      ),
    ),
  };
  if (points > 0) {
    feeds['point_coords'] = hostTensor(
      'float32',
      shapes['point_coords']!,
      packSlots(
        prompts.map((p) => p.pointCoords),
        perSlot * points * 2,
        slots,
      ),
    );
    feeds['point_labels'] = hostTensor(
      'float32',
      shapes['point_labels']!,
      packSlots(
        prompts.map((p) => p.pointLabels),
        perSlot * points,
        slots,
        -1,
      ),
    );
  }
  return feeds;
}

/**
 * A one-graph model's session (onnxruntime-node in the CLI, onnxruntime-web in the viewer): feeds `image`
 * [B, D, 3, S, S] and fetches `masks` [B·D, K, S, S]; a run of fewer than B stacks zero-fills the other
 * slots. A box-prompted model also gets `boxes` [B·D, 4] and, with point slots, `point_coords` [B·D, P, 2]
 * and `point_labels` [B·D, P] (empty slots −1).
 * @throws MasamError when the session's signature does not match `info`
 */
export function sessionStackModel(session: Session, info: ModelInfo): StackModel {
  const batch = imageBatch(session, info);
  checkOutput(session, 'masks');
  const d = info.slices;
  const per = d * info.config.in_chans * info.imageSize ** 2;
  const imageShape = [batch, d, info.config.in_chans, info.imageSize, info.imageSize];
  const points = info.prompts?.points ?? 0;
  const promptShapes = info.prompts ? promptFeedShapes(session, points, batch * d) : undefined;
  return {
    info,
    batch,
    async logits(stacks, prompts) {
      checkStacks(stacks, batch, per, `[${imageShape.slice(1).join(', ')}]`);
      const feeds: Record<string, HostTensor> = {
        image: hostTensor('float32', imageShape, packSlots(stacks, per, batch)),
      };
      if (promptShapes) {
        if (!prompts || prompts.length !== stacks.length)
          throw new MasamError('stack model: the model is box-prompted, give prompts for every stack');
        Object.assign(feeds, promptFeeds(promptShapes, prompts, d, batch, points));
      }
      const masks = (await session.run(feeds, ['masks']))['masks']!.data as Float32Array;
      const each = masks.length / batch;
      return stacks.map((_, i) => masks.subarray(i * each, (i + 1) * each));
    },
  };
}

/**
 * A split model's two sessions: `encoder` takes `image` [B, D, 3, S, S] and gives `embeddings`
 * [B·D, P, T, T]; `decoder` takes one image's `embeddings` [1, P, T, T] (and its prompts) and gives
 * `masks` [1, K, S, S].
 * @throws MasamError when a session's signature does not match `info` or the two do not fit together
 */
export function splitStackModel(encoder: Session, decoder: Session, info: ModelInfo): StackModel {
  const batch = imageBatch(encoder, info);
  checkOutput(encoder, 'embeddings');
  checkOutput(decoder, 'masks');
  const d = info.slices;
  const per = d * info.config.in_chans * info.imageSize ** 2;
  const imageShape = [batch, d, info.config.in_chans, info.imageSize, info.imageSize];
  const embedShape = decoder.inputs.find((s) => s.name === 'embeddings')?.shape;
  const encoded = encoder.outputs.find((s) => s.name === 'embeddings')!.shape;
  if (!embedShape || embedShape[0] !== 1 || embedShape.slice(1).join() !== encoded.slice(1).join()) {
    throw new MasamError(
      `model: the decoder's input 'embeddings' ${embedShape ? `[${embedShape.join(', ')}]` : 'is missing'}; ` +
        `it must be one row [1, ${encoded.slice(1).join(', ')}] of the encoder's output`,
    );
  }
  const perImage = embedShape.reduce((a, b) => a * b, 1);
  const points = info.prompts?.points ?? 0;
  const promptShapes = info.prompts ? promptFeedShapes(decoder, points, 1) : undefined;
  /** One slice image through the decoder, fetching only `output`. */
  const decodeOne = async (embedding: Float32Array, prompt: StackPrompts | undefined, output: string) => {
    if (embedding.length !== perImage)
      throw new MasamError(`stack model: ${embedding.length} embedding values, expected ${perImage}`);
    const feeds: Record<string, HostTensor> = { embeddings: hostTensor('float32', embedShape, embedding) };
    if (promptShapes) {
      if (!prompt) throw new MasamError('stack model: the model is box-prompted, the image has no prompt');
      Object.assign(feeds, promptFeeds(promptShapes, [prompt], 1, 1, points));
    }
    return (await decoder.run(feeds, [output]))[output]!.data as Float32Array;
  };
  const split: SplitStages = {
    async encode(stacks) {
      checkStacks(stacks, batch, per, `[${imageShape.slice(1).join(', ')}]`);
      const image = hostTensor('float32', imageShape, packSlots(stacks, per, batch));
      const out = (await encoder.run({ image }, ['embeddings']))['embeddings']!.data as Float32Array;
      // Copies, so that a cached stack does not pin the whole batch's buffer.
      return stacks.map((_, i) => out.slice(i * d * perImage, (i + 1) * d * perImage));
    },
    decode: (embedding, prompt) => decodeOne(embedding, prompt, 'masks'),
    ...(decoder.outputs.some((s) => s.name === 'probabilities') && {
      probabilities: (embedding: Float32Array, prompt?: StackPrompts) =>
        decodeOne(embedding, prompt, 'probabilities'),
    }),
  };
  return {
    info,
    batch,
    split,
    async logits(stacks, prompts) {
      if (info.prompts && (!prompts || prompts.length !== stacks.length))
        throw new MasamError('stack model: the model is box-prompted, give prompts for every stack');
      const embeddings = await split.encode(stacks);
      return Promise.all(
        embeddings.map(async (e, i) => {
          const planes: Float32Array[] = [];
          for (let t = 0; t < d; t++) {
            const p = prompts && imagePrompt(prompts[i]!, t, points);
            planes.push(await split.decode(e.subarray(t * perImage, (t + 1) * perImage), p));
          }
          const out = new Float32Array(planes.reduce((n, p) => n + p.length, 0));
          planes.forEach((p, t) => {
            out.set(p, t * p.length);
          });
          return out;
        }),
      );
    },
  };
}
