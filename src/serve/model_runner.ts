// Runs the served models for `masam serve`: one model run at a time per model (ONNX Runtime already uses
// every core for one run; two at once would only slow both), a bounded wait queue per model, and a small
// LRU of VolumeSegmenters keyed by (model, image), so that repeated clicks on one image re-run only the
// decoder of a split model (its stacks' embeddings stay in the segmenter).
import type { SlicePrompt } from '../data/prompts.js';
import type { ModelInfo } from '../infer/model_info.js';
import { type SegmentResult, VolumeSegmenter } from '../infer/segment.js';
import type { StackModel } from '../infer/stack_model.js';
import type { Volume } from '../io/volume.js';
import { ServeError } from './serve_error.js';

/** A model `masam serve` offers, opened. */
export interface ServedModel {
  /** The name clients use: the model folder's name or the .onnx file's stem. */
  readonly name: string;
  readonly info: ModelInfo;
  readonly model: StackModel;
}

export interface ModelRunnerOptions {
  /** Segmenters kept (each holds its volume on the model grid and, for split models, its embeddings). */
  readonly cacheSize: number;
  /** Requests that may wait for one model; more are refused with 503. */
  readonly maxQueued: number;
}

/** What one run did, for the response's params. */
export interface RunOutcome {
  readonly result: SegmentResult;
  /** Seconds waiting for the model. */
  readonly queued: number;
  /** Whether the (model, image) segmenter was already there (a split model then skips encoded stacks). */
  readonly reused: boolean;
  readonly encodedStacks: number;
  readonly decodedImages: number;
}

export class ModelRunner {
  private readonly models = new Map<string, ServedModel>();
  private readonly tails = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, number>();
  private readonly segmenters = new Map<string, VolumeSegmenter>();

  constructor(
    models: readonly ServedModel[],
    private readonly options: ModelRunnerOptions,
  ) {
    for (const m of models) this.models.set(m.name, m);
  }

  list(): readonly ServedModel[] {
    return [...this.models.values()];
  }

  /** @throws ServeError 404 when no model has this name */
  get(name: string): ServedModel {
    const model = this.models.get(name);
    if (!model) {
      throw new ServeError(404, `unknown model '${name}' (served: ${[...this.models.keys()].join(', ')})`);
    }
    return model;
  }

  /**
   * Segments the image `imageKey` names with model `name` once the model is free.
   * @param volume loads the image when no cached segmenter holds it
   * @param prompts per-slice prompts (box-prompted models) from promptsFor, given the volume
   * @throws ServeError 503 when too many requests wait; the signal's reason when it aborts
   */
  async run(
    name: string,
    imageKey: string,
    volume: () => Promise<Volume>,
    prompts: ((volume: Volume) => readonly (SlicePrompt | null)[]) | undefined,
    signal: AbortSignal,
  ): Promise<RunOutcome> {
    const served = this.get(name);
    const waiting = this.waiting.get(name) ?? 0;
    if (waiting >= this.options.maxQueued) {
      throw new ServeError(503, `model '${name}' has ${waiting} requests waiting; try again later`);
    }
    this.waiting.set(name, waiting + 1);
    const asked = performance.now();
    const job = async (): Promise<RunOutcome> => {
      signal.throwIfAborted();
      const queued = (performance.now() - asked) / 1000;
      const key = `${name}\u0000${imageKey}`;
      let segmenter = this.segmenters.get(key);
      const reused = segmenter !== undefined;
      if (segmenter) this.segmenters.delete(key);
      else segmenter = new VolumeSegmenter(await volume(), served.model, { source: imageKey });
      this.segmenters.set(key, segmenter); // most recent last
      while (this.segmenters.size > this.options.cacheSize) {
        this.segmenters.delete(this.segmenters.keys().next().value!);
      }
      const [encoded, decoded] = [segmenter.encodedStacks, segmenter.decodedImages];
      const result = await segmenter.segment({
        ...(prompts && { prompts: prompts(segmenter.volume) }),
        signal,
      });
      return {
        result,
        queued,
        reused,
        encodedStacks: segmenter.encodedStacks - encoded,
        decodedImages: segmenter.decodedImages - decoded,
      };
    };
    const run = (this.tails.get(name) ?? Promise.resolve()).then(job);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(name, tail);
    try {
      return await run;
    } finally {
      this.waiting.set(name, (this.waiting.get(name) ?? 1) - 1);
    }
  }
}
