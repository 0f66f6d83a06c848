// The library API (issue 3): load MA-SAM from the official checkpoints, run it, get the official training
// loss and gradients, export it. Node-side like cli/: it reads checkpoint files when given paths.
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor, splitFirstAxis } from '../core/host_tensor.js';
import { Rng } from '../core/rng.js';
import { Graph, type Value } from '../graph/index.js';
import { readPth } from '../io/pth.js';
import {
  applyMaSamCheckpoint,
  loadSamCheckpoint,
  officialParamName,
  type SamLoadReport,
} from '../models/masam/checkpoint.js';
import { MaSam, declareMaSamParams, promptGraphInputs } from '../models/masam/masam.js';
import { trainableNames } from '../models/masam/trainable.js';
import { type MaSamConfig, type PresetName, resolveConfig } from '../models/sam/config.js';
import { softmaxComposite } from '../ops/composite.js';
import { BUFFER_GROUP, ParamScope, ParamSource, type Weights } from '../nn/index.js';
import type { Device } from '../runtime/index.js';
import { type OrtSession, compile } from '../runtime/index.js';
import { Executor, type RecomputePolicy } from '../train/executor.js';
import type { PromptSpec } from '../data/prompts.js';
import type { Preprocessing } from '../infer/model_info.js';
import { exportModel } from '../onnx/export.js';
import { convertToFloat16 } from '../onnx/float16.js';
import { onnx } from '../onnx/proto.js';
import { quantizeWeightsInt8 } from '../onnx/quantize.js';
import { writeFilesAtomic } from './files.js';
import { type ApiTensor, checkTensor } from './tensor.js';

export type ConfigInput = PresetName | ({ preset?: PresetName } & Partial<MaSamConfig>);

export interface LoadMaSamOptions {
  /** A preset name, a preset with overrides, or a full config (the fixtures' config.json keys). */
  readonly config: ConfigInput;
  /** Meta's SAM checkpoint (path or bytes). Without it every weight starts from PyTorch-default init. */
  readonly samCheckpoint?: string | Uint8Array;
  /** An MA-SAM checkpoint in the official save format (path or bytes), applied on top. */
  readonly masamCheckpoint?: string | Uint8Array;
  /** Seed of the fresh initialisation (adapters, FacT, new decoder layers). */
  readonly seed?: number;
  readonly device?: Device;
}

export interface ForwardResult {
  readonly lowResLogits: ApiTensor;
  readonly masks: ApiTensor;
  readonly iouPredictions: ApiTensor;
  readonly imageEmbeddings: ApiTensor;
}

export interface LossAndGrads {
  readonly loss: number;
  readonly lossCe: number;
  readonly lossDice: number;
  /** d loss / d parameter by official in-memory name (names.json); parameters without a gradient are absent. */
  readonly grads: Map<string, ApiTensor>;
}

function readBytes(input: string | Uint8Array): { bytes: Uint8Array; source: string } {
  if (typeof input !== 'string') return { bytes: input, source: '<bytes>' };
  try {
    return { bytes: readFileSync(input), source: input };
  } catch (err) {
    throw new MasamError(`${input}: cannot read checkpoint (${(err as Error).message})`);
  }
}

/** Loads MA-SAM with the official semantics (spec §3.5, §7.5). */
export async function loadMaSam(options: LoadMaSamOptions): Promise<MaSamModel> {
  const config = resolveConfig(options.config);
  const { shapes, groups } = declareMaSamParams(config);
  let weights: Weights = new Map();
  let report: SamLoadReport | undefined;
  if (options.samCheckpoint !== undefined) {
    const { bytes, source } = readBytes(options.samCheckpoint);
    ({ weights, report } = loadSamCheckpoint(shapes, readPth(bytes, source), {
      globalBlocks: config.global_attn_indexes,
      source,
    }));
  }
  // Fresh initialisation of whatever the SAM checkpoint did not provide.
  new MaSam(
    config,
    new ParamScope(new ParamSource({ graph: new Graph(), weights, rng: new Rng(options.seed ?? 1234) })),
  );
  if (options.masamCheckpoint !== undefined) {
    const { bytes, source } = readBytes(options.masamCheckpoint);
    applyMaSamCheckpoint(weights, shapes, readPth(bytes, source), source);
  }
  return new MaSamModel(config, weights, trainableNames(groups), report, options.device ?? 'cpu', groups);
}

export class MaSamModel {
  private readonly sessions = new Map<string, Promise<OrtSession>>();
  private readonly executors = new Map<RecomputePolicy, Executor>();

  constructor(
    readonly config: MaSamConfig,
    readonly weights: Weights,
    /** Names of the parameters fine-tuning updates (spec §3.4). */
    readonly trainable: ReadonlySet<string>,
    readonly samLoadReport: SamLoadReport | undefined,
    readonly device: Device,
    /** Each parameter's group (ParamScope.group). */
    readonly groups: ReadonlyMap<string, string>,
  ) {}

  /** Traces the inference model once per input shape; weights are read when traced. */
  private session(key: string, build: (g: Graph, source: ParamSource) => Record<string, Value>) {
    let s = this.sessions.get(key);
    if (!s) {
      const graph = new Graph();
      const source = new ParamSource({ graph, weights: this.weights });
      s = compile(build(graph, source), { device: this.device });
      this.sessions.set(key, s);
      s.catch(() => this.sessions.delete(key));
    }
    return s;
  }

  /** Every weight but persistent buffers: what full fine-tuning (e.g. from random init) updates. */
  allTrainableNames(): Set<string> {
    return new Set([...this.weights.keys()].filter((n) => this.groups.get(n) !== BUFFER_GROUP));
  }

  /** Forgets compiled graphs: call after changing weights in place outside training. */
  invalidate(): void {
    this.sessions.clear();
    for (const e of this.executors.values()) e.forget();
    this.executors.clear();
  }

  /**
   * Runs the model on image [b, d, 3, H, W] (0–1 scale), optionally with prompts per image (the
   * box-prompted variant, spec §11): `boxes` [b·d, 4] (x1, y1, x2, y2 in input pixels) and points
   * `pointCoords` [b·d, P, 2] (x, y) with `pointLabels` [b·d, P] (1, 0, or −1 for an empty slot).
   */
  async forward(image: Float32Array, options: ForwardOptions): Promise<ForwardResult> {
    const { shape } = options;
    checkTensor('forward image', image, shape, 5);
    const n = shape[0]! * shape[1]!;
    const feeds: Record<string, HostTensor> = { image: hostTensor('float32', shape, image) };
    if (options.boxes) {
      checkTensor('forward boxes', options.boxes, [n, 4], 2);
      feeds['boxes'] = hostTensor('float32', [n, 4], options.boxes);
    }
    if (options.pointCoords || options.pointLabels) {
      if (!options.pointCoords || !options.pointLabels)
        throw new MasamError('forward: pointCoords and pointLabels come together');
      const p = options.pointLabels.length / n;
      checkTensor('forward pointLabels', options.pointLabels, [n, p], 2);
      checkTensor('forward pointCoords', options.pointCoords, [n, p, 2], 3);
      feeds['point_coords'] = hostTensor('float32', [n, p, 2], options.pointCoords);
      feeds['point_labels'] = hostTensor('float32', [n, p], options.pointLabels);
    }
    const key = Object.values(feeds).map((t) => t.shape.join('x'));
    const session = await this.session(`forward:${Object.keys(feeds)}:${key}`, (g, source) => {
      const input = (name: string): Value | undefined =>
        feeds[name] ? g.input(name, 'float32', feeds[name]!.shape) : undefined;
      const boxes = input('boxes');
      const coords = input('point_coords');
      const out = new MaSam(this.config, new ParamScope(source)).forward(input('image')!, {
        ...(boxes && { boxes }),
        ...(coords && { points: { coords, labels: input('point_labels')! } }),
      });
      return {
        lowResLogits: out.lowResLogits,
        masks: out.masks,
        iouPredictions: out.iouPredictions,
        imageEmbeddings: out.imageEmbeddings,
      };
    });
    const r = await session.run(feeds);
    const t = (name: string): ApiTensor => ({
      data: r[name]!.data as Float32Array,
      shape: [...r[name]!.shape],
    });
    return {
      lowResLogits: t('lowResLogits'),
      masks: t('masks'),
      iouPredictions: t('iouPredictions'),
      imageEmbeddings: t('imageEmbeddings'),
    };
  }

  /**
   * The official loss 0.2·CE + 0.8·Dice on `lowResLogits` vs labels [b·d, H, W] and its gradients (eval
   * mode), through the executor that `masam train` runs (train/executor.ts). `recompute` picks its policy
   * and `microBatch` (stacks per run, dividing b) splits the batch — the gradient stays exact.
   */
  async lossAndGrads(
    image: Float32Array,
    label: Int32Array,
    { shape, recompute = 'blocks', microBatch }: LossAndGradsOptions,
  ): Promise<LossAndGrads> {
    checkTensor('lossAndGrads image', image, shape, 5);
    const [b, d, c, h, w] = shape as [number, number, number, number, number];
    checkTensor('lossAndGrads label', label, [b * d, h, w], 3);
    const cfg = this.config;
    if (d !== cfg.slices || c !== cfg.in_chans || h !== cfg.img_size || w !== cfg.img_size) {
      throw new MasamError(
        `lossAndGrads: image [${shape.join(', ')}] must be [b, ${cfg.slices}, ${cfg.in_chans}, ${cfg.img_size}, ${cfg.img_size}] for this model`,
      );
    }
    const m = microBatch ?? b;
    if (!Number.isInteger(m) || m < 1 || b % m !== 0)
      throw new MasamError(`lossAndGrads: microBatch ${m} must divide the batch ${b}`);
    let executor = this.executors.get(recompute);
    if (!executor) {
      executor = new Executor({
        config: cfg,
        weights: this.weights,
        trainable: this.trainable,
        dropout: false,
        recompute,
        device: this.device,
      });
      this.executors.set(recompute, executor);
    }
    const n = b / m;
    const labels = splitFirstAxis(hostTensor('int32', [b * d, h, w], label), n);
    const micro = splitFirstAxis(hostTensor('float32', shape, image), n).map((img, j) => ({
      image: img,
      label: labels[j]!,
    }));
    const r = await executor.lossAndGrads(micro);
    const gradsOut = new Map<string, ApiTensor>();
    for (const [name, g] of r.grads)
      if (g) gradsOut.set(officialParamName(name), { data: g, shape: [...this.weights.get(name)!.shape] });
    return { loss: r.loss, lossCe: r.ce, lossDice: r.dice, grads: gradsOut };
  }

  /**
   * Writes a self-contained inference model as one graph: image [batch, slices, 3, S, S] (0–1 scale) →
   * `masks` logits [batch·slices, K, S, S] and `iou_predictions`; weights as initializers (external data
   * `<file>.data` past 2 GB); metadata carries the config, class names and preprocessing. With `prompts`,
   * the graph also takes `boxes` [batch·slices, 4] and, with point slots, `point_coords` [batch·slices, P, 2]
   * and `point_labels` [batch·slices, P]. Atomic. For interactive use prefer exportSplit.
   */
  async exportOnnx(path: string, options: ExportOnnxOptions): Promise<void> {
    const graph = new Graph();
    const source = new ParamSource({ graph, weights: this.weights });
    const image = graph.input('image', 'float32', this.stackShape(options));
    const spec = options.prompts;
    const out = new MaSam(this.config, new ParamScope(source)).forward(
      image,
      spec && promptGraphInputs(graph, image.shape[0]! * image.shape[1]!, spec.points),
    );
    await writeModelFiles([
      {
        path,
        graph,
        outputs: { masks: out.masks, iou_predictions: out.iouPredictions },
        metadata: {
          ...this.exportMetadata(options),
          'masam.input': 'image [batch, slices, 3, S, S] float32 on the 0–1 scale; stack-major output rows',
        },
        ...(options.precision === 'fp16' && { precision: 'fp16' as const }),
      },
    ]);
  }

  /**
   * Writes the model as two graphs in the folder `dir` (a split model, infer/stack_model.ts):
   * `encoder.onnx`, image [batch, slices, 3, S, S] → `embeddings` [batch·slices, P, T, T], the heavy
   * half that runs once per stack; and `decoder.onnx`, one image's `embeddings` [1, P, T, T] (and, with
   * `prompts`, its `boxes` [1, 4], `point_coords` [1, P, 2], `point_labels` [1, P]) → `masks` [1, K, S, S],
   * their softmax over classes `probabilities`, and `iou_predictions`: the light half that runs per prompt. Both carry the metadata; the pair is written
   * atomically as one set. `quantize: 'int8'` stores the encoder's matrix weights as per-channel int8
   * (onnx/quantize.ts); `precision: 'fp16'` computes both halves in float16 (onnx/float16.ts).
   */
  async exportSplit(dir: string, options: ExportSplitOptions): Promise<void> {
    const model = (graph: Graph) =>
      new MaSam(this.config, new ParamScope(new ParamSource({ graph, weights: this.weights })));
    const encoderGraph = new Graph();
    const image = encoderGraph.input('image', 'float32', this.stackShape(options));
    const masam = model(encoderGraph);
    let tokens = masam.embed(image);
    for (let i = 0; i < this.config.depth; i++) tokens = masam.block(i, tokens, options.slices);
    const embeddings = masam.neck(tokens);

    const decoderGraph = new Graph();
    const spec = options.prompts;
    const decoded = model(decoderGraph).decode(
      decoderGraph.input('embeddings', 'float32', [1, ...embeddings.shape.slice(1)]),
      spec && promptGraphInputs(decoderGraph, 1, spec.points),
    );
    const metadata = this.exportMetadata(options);
    await mkdir(dir, { recursive: true });
    const precision = options.precision === 'fp16' ? { precision: 'fp16' as const } : {};
    await writeModelFiles([
      {
        path: join(dir, SPLIT_ENCODER_FILE),
        graph: encoderGraph,
        outputs: { embeddings },
        metadata: {
          ...metadata,
          'masam.part': 'encoder',
          'masam.input': 'image [batch, slices, 3, S, S] float32 on the 0–1 scale; stack-major output rows',
        },
        ...precision,
        ...(options.quantize === 'int8' && { quantize: 'int8' as const }),
      },
      {
        path: join(dir, SPLIT_DECODER_FILE),
        graph: decoderGraph,
        // Softmax over classes inside the graph: ORT's kernel is many times faster than a JavaScript loop
        // over K·S·S values, the cost that dominates a prompt edit (infer/stack_model.ts).
        outputs: {
          masks: decoded.masks,
          probabilities: softmaxComposite(decoded.masks, 1),
          iou_predictions: decoded.iouPredictions,
        },
        metadata: {
          ...metadata,
          'masam.part': 'decoder',
          'masam.input': "one image's embeddings [1, P, T, T] (a row of the encoder's output)",
        },
        ...precision,
      },
    ]);
  }

  /** The exported image input [batch, slices, C, S, S]. */
  private stackShape(options: Pick<ExportOnnxOptions, 'batch' | 'slices'>): number[] {
    const batch = options.batch ?? 1;
    if (!Number.isInteger(batch) || batch < 1) throw new MasamError(`export: batch ${batch} must be ≥ 1`);
    return [batch, options.slices, this.config.in_chans, this.config.img_size, this.config.img_size];
  }

  /** The masam.* metadata an exported model describes itself with (infer/model_info.ts reads it). */
  private exportMetadata(options: ExportOnnxOptions): Record<string, string> {
    const classNames =
      options.classNames ??
      Array.from({ length: this.config.num_classes + 1 }, (_, i) => (i === 0 ? 'background' : `class_${i}`));
    if (classNames.length !== this.config.num_classes + 1) {
      throw new MasamError(
        `export: ${classNames.length} class names for ${this.config.num_classes + 1} classes (background included)`,
      );
    }
    return {
      'masam.format': '1',
      'masam.config': JSON.stringify(this.config),
      'masam.class_names': JSON.stringify(classNames),
      'masam.preprocessing': JSON.stringify(options.preprocessing ?? { modality: 'ct' }),
      'masam.slices': String(options.slices),
      ...(options.prompts && { 'masam.prompts': JSON.stringify({ points: options.prompts.points }) }),
      ...(options.precision === 'fp16' && { 'masam.precision': 'fp16' }),
    };
  }
}

/** The two graphs of a split model folder (MaSamModel.exportSplit). */
export const SPLIT_ENCODER_FILE = 'encoder.onnx';
export const SPLIT_DECODER_FILE = 'decoder.onnx';

interface ModelFile {
  readonly path: string;
  readonly graph: Graph;
  readonly outputs: Readonly<Record<string, Value>>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly precision?: 'fp16';
  readonly quantize?: 'int8';
}

/**
 * Serialises each graph (with the `quantize` / `precision` rewrites applied) and writes all files and their
 * external data as one atomic set: a failed write leaves the previous set, never a new model beside old
 * weights.
 */
async function writeModelFiles(files: readonly ModelFile[]): Promise<void> {
  const writes: [string, Uint8Array | readonly Uint8Array[]][] = [];
  for (const file of files) {
    const location = `${basename(file.path)}.data`;
    const exported = exportModel(file.graph, {
      outputs: file.outputs,
      graphName: 'masam',
      externalDataLocation: location,
      metadata: { ...file.metadata, ...(file.quantize && { 'masam.quantize': file.quantize }) },
    });
    let bytes = exported.model;
    if (file.quantize || file.precision) {
      if (exported.externalData) {
        throw new MasamError(
          `${file.path}: --quantize and --precision rewrite weights held inside the model (under 2 GB); this one needs external data`,
        );
      }
      let proto = onnx.ModelProto.decode(bytes);
      if (file.quantize === 'int8') proto = quantizeWeightsInt8(proto, { source: file.path }).model;
      if (file.precision === 'fp16') proto = convertToFloat16(proto, { source: file.path });
      bytes = onnx.ModelProto.encode(proto).finish();
    }
    if (exported.externalData)
      writes.push([join(dirname(file.path), location), exported.externalData.chunks]);
    writes.push([file.path, bytes]);
  }
  await writeFilesAtomic(writes);
}

export interface ExportOnnxOptions {
  /** D, the slices per stack the exported graph takes. */
  readonly slices: number;
  /** Stacks per run (default 1). */
  readonly batch?: number;
  /** num_classes + 1 names, background first. */
  readonly classNames?: readonly string[];
  /** How inputs were prepared, stored for the CLI and viewer (default: CT). */
  readonly preprocessing?: Preprocessing;
  /** Export the box-prompted variant (spec §11) with this many point slots per image. */
  readonly prompts?: PromptSpec;
  /** Compute in float16 (WebGPU), numerically sensitive ops kept in float32 (onnx/float16.ts). */
  readonly precision?: 'fp32' | 'fp16';
}

export interface ExportSplitOptions extends ExportOnnxOptions {
  /** Store the encoder's matrix weights as per-channel int8 (CPU speed; accuracy in bench/results/pipeline.md). */
  readonly quantize?: 'int8';
}

export interface LossAndGradsOptions {
  /** [b, d, 3, H, W] with d, H, W the model's. */
  readonly shape: number[];
  /** Activation recomputation (train/executor.ts); default 'blocks'. */
  readonly recompute?: RecomputePolicy;
  /** Stacks per executor run (default: all b); must divide b. */
  readonly microBatch?: number;
}

export interface ForwardOptions {
  /** [b, d, 3, H, W]. */
  readonly shape: number[];
  readonly boxes?: Float32Array;
  readonly pointCoords?: Float32Array;
  readonly pointLabels?: Float32Array;
}
