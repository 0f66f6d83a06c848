// The training executor as a StackRunner (data/stack_sweep.ts), so that validation predicts with the sweep
// `masam segment` runs: stacks [D, 3, S, S] and their box prompts in, eval-mode logits [D, K, S, S] out.
import { hostTensor } from '../core/host_tensor.js';
import type { PromptSpec, StackPrompts } from '../data/prompts.js';
import type { StackRunner } from '../data/stack_sweep.js';
import type { StackBatch } from './executor.js';

/** What the sweep needs of an Executor or ParallelExecutor. */
export interface LogitsExecutor {
  logits(batch: Omit<StackBatch, 'label' | 'noise'>): Promise<Float32Array>;
}

/** Concatenates equal-length parts. */
function concat(parts: readonly Float32Array[]): Float32Array {
  const each = parts[0]?.length ?? 0;
  const out = new Float32Array(parts.length * each);
  parts.forEach((p, i) => {
    out.set(p, i * each);
  });
  return out;
}

/**
 * `executor` running `batch` stacks a call (default 1: one compiled program, as validation always ran).
 * @param stack D slices of C channels at side S (the model's input)
 * @param prompts the point slots of a box-prompted model; absent for a model without prompts
 */
export function executorStackModel(
  executor: LogitsExecutor,
  stack: { readonly depth: number; readonly channels: number; readonly size: number },
  prompts?: PromptSpec,
  batch = 1,
): StackRunner {
  const { depth: d, channels, size } = stack;
  return {
    batch,
    async logits(stacks, stackPrompts?: readonly StackPrompts[]) {
      const n = stacks.length;
      const image = hostTensor('float32', [n, d, channels, size, size], concat(stacks));
      const p = prompts?.points ?? 0;
      const logits = await executor.logits({
        image,
        ...(prompts &&
          stackPrompts && {
            prompts: {
              boxes: hostTensor('float32', [n * d, 4], concat(stackPrompts.map((s) => s.boxes))),
              pointCoords: hostTensor(
                'float32',
                [n * d, p, 2],
                concat(stackPrompts.map((s) => s.pointCoords)),
              ),
              pointLabels: hostTensor('float32', [n * d, p], concat(stackPrompts.map((s) => s.pointLabels))),
            },
          }),
      });
      const each = logits.length / n;
      return stacks.map((_, i) => logits.subarray(i * each, (i + 1) * each));
    },
  };
}
