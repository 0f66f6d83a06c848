// StackModels over plain functions, for tests of the volumetric sweep (infer/segment.ts) without ONNX.
import type { StackPrompts } from '../src/data/prompts.js';
import type { ModelInfo } from '../src/infer/model_info.js';
import type { StackModel } from '../src/infer/stack_model.js';

/** Logits [D, K, S, S] of one stack [D, 3, S, S] (and its prompts). */
export type StackFunction = (stack: Float32Array, prompts?: StackPrompts) => Promise<Float32Array>;

/** A one-graph StackModel that runs `fn` on each stack of a call; `batch` stacks a call at most. */
export function fnModel(info: ModelInfo, fn: StackFunction, batch = 1): StackModel {
  return {
    info,
    batch,
    async logits(stacks, prompts) {
      if (stacks.length > batch) throw new Error(`fnModel: ${stacks.length} stacks, batch ${batch}`);
      const out: Float32Array[] = [];
      for (const [i, s] of stacks.entries()) out.push(await fn(s, prompts?.[i]));
      return out;
    },
  };
}
