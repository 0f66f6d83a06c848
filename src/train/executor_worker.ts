// A data-parallel worker (train/parallel_executor.ts): one Executor with its own ORT sessions over the shared
// weights, answering the main thread's requests one at a time.
import { parentPort, workerData } from 'node:worker_threads';
import { Executor, type ExecutorOptions, type StackBatch } from './executor.js';
import type { SurrogateConstants } from './losses.js';
import { type SharedWeight, WorkerWeights } from './shared_weights.js';

/** What the main thread sends at start. */
export interface WorkerInit {
  readonly options: Omit<ExecutorOptions, 'weights' | 'trainable'>;
  readonly trainable: readonly string[];
  readonly weights: readonly SharedWeight[];
}

/** A request's content; on the wire it carries an id (WorkerRequest). */
export type WorkerCall =
  | { readonly kind: 'loss'; readonly microBatches: StackBatch[] }
  | { readonly kind: 'sums'; readonly microBatches: StackBatch[] }
  | {
      readonly kind: 'grads';
      readonly microBatches: StackBatch[];
      readonly constants: SurrogateConstants;
    }
  | { readonly kind: 'logits'; readonly batch: Omit<StackBatch, 'label' | 'noise'> };

export type WorkerRequest = WorkerCall & { readonly id: number };

const init = workerData as WorkerInit;
const weights = new WorkerWeights(init.weights);
const executor = new Executor({
  ...init.options,
  weights: weights.weights,
  trainable: new Set(init.trainable),
});

parentPort!.on('message', async (req: WorkerRequest) => {
  try {
    weights.refresh(init.trainable); // the optimiser may have stepped since the last request
    let result: unknown;
    if (req.kind === 'loss') result = await executor.lossAndGrads(req.microBatches);
    else if (req.kind === 'sums') result = await executor.lossSums(req.microBatches);
    else if (req.kind === 'grads')
      result = await executor.surrogateGradients(req.microBatches, req.constants);
    else result = await executor.logits(req.batch);
    parentPort!.postMessage({ id: req.id, result });
  } catch (err) {
    parentPort!.postMessage({ id: req.id, error: (err as Error).message });
  }
});
