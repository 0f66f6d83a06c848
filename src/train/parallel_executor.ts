// Data-parallel training (issue 12 item 4; shared/docs/executor.md "Devices"): N workers (worker threads),
// each with its own ORT sessions on its device — CPU workers divide the cores, CUDA workers take one GPU each
// — and the weights in shared memory. A batch's micro-batches are dealt to the workers in contiguous runs;
// the loss sums are all-reduced (3·K + 2 numbers) before the surrogate gradients of pass 2, and gradients
// are summed in worker order, so results never depend on timing. One host AdamW step follows (trainer.ts).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MasamError } from '../core/errors.js';
import type { Device } from '../runtime/index.js';
import {
  Executor,
  type ExecutorOptions,
  type LossAndGradients,
  type NoiseSite,
  type StackBatch,
  accumulateGradient,
} from './executor.js';
import type { WorkerCall, WorkerInit } from './executor_worker.js';
import { type HostLossSums, addSums, emptySums, surrogateCoefficients } from './losses.js';
import { shareWeights } from './shared_weights.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

class WorkerHandle {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(
    readonly worker: Worker,
    readonly index: number,
  ) {
    worker.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new MasamError(`worker ${index}: ${m.error}`));
      else p?.resolve(m.result);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => this.failAll(new MasamError(`worker ${index} exited (code ${code})`)));
  }

  call<T>(request: WorkerCall): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

export interface ParallelOptions {
  /** Worker count (≥ 1). */
  readonly workers: number;
  /** One device per worker (CUDA: `cuda:0,cuda:1,…`); default: every worker on the CPU. */
  readonly devices?: readonly Device[];
}

export class ParallelExecutor {
  private readonly workers: WorkerHandle[];
  /** Traces noise sites only; it never compiles a program. */
  private readonly tracer: Executor;

  /** Moves `options.weights` into shared memory (see shareWeights) and starts the workers. */
  constructor(
    readonly options: ExecutorOptions,
    parallel: ParallelOptions,
  ) {
    const n = parallel.workers;
    if (!Number.isInteger(n) || n < 1) throw new MasamError(`workers must be a whole number ≥ 1, got ${n}`);
    const devices = parallel.devices ?? Array.from({ length: n }, () => 'cpu' as const);
    if (devices.length !== n)
      throw new MasamError(`${n} workers need ${n} devices, got ${devices.length} (${devices.join(', ')})`);
    const shared = shareWeights(options.weights);
    const cpuWorkers = devices.filter((d) => d === 'cpu').length;
    const threads =
      options.threads ?? Math.max(1, Math.floor(availableParallelism() / Math.max(1, cpuWorkers)));
    const { weights: _w, trainable, ...rest } = options;
    const source = workerSource();
    this.workers = devices.map((device, i) => {
      const init: WorkerInit = {
        options: { ...rest, device, threads },
        trainable: [...trainable],
        weights: shared,
      };
      return new WorkerHandle(new Worker(source.code, { workerData: init, eval: source.eval }), i);
    });
    this.tracer = new Executor(options);
  }

  get workerCount(): number {
    return this.workers.length;
  }

  noiseSites(stacks: number): readonly NoiseSite[] {
    return this.tracer.noiseSites(stacks);
  }

  /** Executor.lossAndGrads across the workers: the same exact loss and gradients. */
  async lossAndGrads(microBatches: readonly StackBatch[]): Promise<LossAndGradients> {
    if (microBatches.length === 1)
      return this.workers[0]!.call({ kind: 'loss', microBatches: [...microBatches] });
    const shares = this.deal(microBatches);
    const sums = await Promise.all(
      shares.map((share, w) =>
        share.length > 0
          ? this.workers[w]!.call<HostLossSums>({ kind: 'sums', microBatches: share })
          : Promise.resolve(null),
      ),
    );
    const total = emptySums(this.options.config.num_classes + 1);
    for (const s of sums) if (s) addSums(total, s);
    const constants = surrogateCoefficients(total, this.options.config.dice_weight);
    const parts = await Promise.all(
      shares.map((share, w) =>
        share.length > 0
          ? this.workers[w]!.call<Map<string, Float32Array | null>>({
              kind: 'grads',
              microBatches: share,
              constants,
            })
          : Promise.resolve(null),
      ),
    );
    const grads = new Map<string, Float32Array | null>();
    for (const part of parts) if (part) for (const [name, g] of part) accumulateGradient(grads, name, g);
    return { loss: constants.loss, ce: constants.ce, dice: constants.dice, grads };
  }

  /** Eval-mode logits (validation) on the first worker. */
  logits(batch: Omit<StackBatch, 'label' | 'noise'>): Promise<Float32Array> {
    return this.workers[0]!.call({ kind: 'logits', batch });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  /** Contiguous runs of micro-batches, as even as possible, in worker order. */
  private deal(microBatches: readonly StackBatch[]): StackBatch[][] {
    const n = this.workers.length;
    const base = Math.floor(microBatches.length / n);
    const extra = microBatches.length % n;
    const out: StackBatch[][] = [];
    let at = 0;
    for (let w = 0; w < n; w++) {
      const size = base + (w < extra ? 1 : 0);
      out.push(microBatches.slice(at, at + size));
      at += size;
    }
    return out;
  }
}

/**
 * The worker's entry: the built .js file, or — running from TypeScript sources under tsx (tests, benchmarks)
 * — a bootstrap that registers tsx's loader in the worker before importing the .ts file.
 */
function workerSource(): { code: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts'))
    return { code: new URL('./executor_worker.js', import.meta.url), eval: false };
  const entry = new URL('./executor_worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return {
    code: `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`,
    eval: true,
  };
}
