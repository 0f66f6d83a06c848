// The training executor (issue 12; design: shared/docs/executor.md): one object that owns the compiled
// programs of an MA-SAM model on one device and runs the official loss and its gradients (spec §9.2) over a
// batch given as micro-batches of stacks.
//
// Recompute policy:
//   'none'   — one program: the whole model, loss and every gradient in a single ORT graph (every
//              activation of every block is alive at the peak).
//   'blocks' — the model as a chain of stages (embed, each encoder block, head = neck + decoder + loss).
//              The forward keeps only each stage's input; the backward walks the stages in reverse and runs
//              each stage's gradient program — its forward recomputed from the saved input, then its VJP —
//              in a session of its own (ORT would merge a recomputation placed in the forward's graph back
//              by common-subexpression elimination). Blocks of one kind (windowed / global attention) share
//              one compiled program: their weights are inputs, fed per block.
// Micro-batches: several micro-batches give exactly the gradient of the whole batch's loss. The loss
// depends on the batch only through sums (losses.ts, LossSums), so a first pass accumulates them, and a
// second pass differentiates each micro-batch's surrogate with the batch's constants (surrogateCoefficients).
import { MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import type { PromptSpec } from '../data/prompts.js';
import { Graph, type Value } from '../graph/index.js';
import { MaSam, promptGraphInputs } from '../models/masam/masam.js';
import type { MaSamConfig } from '../models/sam/config.js';
import { ParamScope, ParamSource, type Weights } from '../nn/index.js';
import * as F from '../ops/index.js';
import { type CompileOptions, type Device, type Session, compile } from '../runtime/index.js';
import {
  type HostLossSums,
  type LossSums,
  type SurrogateConstants,
  addSums,
  emptySums,
  lossSums,
  segmentationLoss,
  surrogateCoefficients,
  surrogateLoss,
} from './losses.js';
import { GradientSession, compileGradient } from './step.js';

export type RecomputePolicy = 'none' | 'blocks';
export const RECOMPUTE_POLICIES: readonly RecomputePolicy[] = ['none', 'blocks'];

export interface ExecutorOptions {
  readonly config: MaSamConfig;
  /** Every weight; trainable ones are read at each run, so an optimiser may update them in place. */
  readonly weights: Weights;
  readonly trainable: ReadonlySet<string>;
  /** The box-prompted variant (spec §11) with this many point slots. */
  readonly prompts?: PromptSpec | null;
  /** Training mode: FacT dropout takes noise inputs (see noiseSites); eval mode has no dropout. */
  readonly dropout: boolean;
  readonly recompute?: RecomputePolicy;
  readonly device?: Device;
  readonly threads?: number;
  /** Write ORT's JSON profile of every program with this file prefix (see endProfiling). */
  readonly profilePrefix?: string;
}

/** The prompt feeds of a stack batch, named as promptGraphInputs declares them. */
export interface PromptFeeds {
  readonly boxes: HostTensor<'float32'>;
  readonly pointCoords: HostTensor<'float32'>;
  readonly pointLabels: HostTensor<'float32'>;
}

/** m stacks: image [m, d, 3, S, S] (0–1 scale), labels [m·d, S, S]. */
export interface StackBatch {
  readonly image: HostTensor<'float32'>;
  readonly label: HostTensor<'int32'>;
  readonly prompts?: PromptFeeds;
  /** Dropout noise by input name (noiseSites), in training mode. */
  readonly noise?: ReadonlyMap<string, HostTensor<'float32'>>;
}

export interface LossAndGradients {
  readonly loss: number;
  readonly ce: number;
  readonly dice: number;
  /** d loss / d parameter for every trainable name; null where the loss does not depend on it. */
  readonly grads: Map<string, Float32Array | null>;
}

/** One dropout site of one run: its graph input name and shape. */
export interface NoiseSite {
  readonly name: string;
  readonly shape: readonly number[];
}

type HeadMode = 'loss' | 'surrogate';

const BLOCK_PREFIX = 'image_encoder.blocks.';

export class Executor {
  readonly recompute: RecomputePolicy;
  private readonly programs = new Map<string, Promise<GradientSession | Session>>();
  private readonly noiseSiteCache = new Map<number, NoiseSite[]>();
  /** The first block of each attention kind: the block its kind's shared program is traced for. */
  private readonly representative: number[];

  constructor(readonly options: ExecutorOptions) {
    this.recompute = options.recompute ?? 'blocks';
    const cfg = options.config;
    const globalIndexes = new Set(cfg.global_attn_indexes);
    const firstWindowed = Array.from({ length: cfg.depth }, (_, i) => i).find((i) => !globalIndexes.has(i));
    const firstGlobal = cfg.global_attn_indexes.length > 0 ? Math.min(...cfg.global_attn_indexes) : -1;
    this.representative = Array.from({ length: cfg.depth }, (_, i) =>
      globalIndexes.has(i) ? firstGlobal : firstWindowed!,
    );
  }

  get config(): MaSamConfig {
    return this.options.config;
  }

  /**
   * The dropout inputs of a run over `stacks` stacks, in the order the model traces them (block by block,
   * q before v). Each site's first axis runs over images, stack-major, so a batch's noise split along it
   * gives each micro-batch its own share.
   */
  noiseSites(stacks: number): readonly NoiseSite[] {
    if (!this.options.dropout) return [];
    let sites = this.noiseSiteCache.get(stacks);
    if (!sites) {
      const cfg = this.config;
      const graph = new Graph();
      const source = new ParamSource({ graph, weights: new Map(), shapesOnly: true });
      const model = new MaSam(cfg, new ParamScope(source));
      const found: NoiseSite[] = [];
      let h = model.embed(this.imageInput(graph, stacks));
      for (let i = 0; i < cfg.depth; i++) {
        h = model.block(i, h, cfg.slices, (site, shape) => {
          found.push({ name: `noise/${site}`, shape: [...shape] });
          return graph.input(`noise/${site}`, 'float32', shape);
        });
      }
      sites = found;
      this.noiseSiteCache.set(stacks, sites);
    }
    return sites;
  }

  /**
   * The official loss over all micro-batches together and its gradients. One micro-batch: the loss
   * directly. Several: pass 1 sums, pass 2 surrogate gradients (exact, not an average of micro-losses).
   */
  async lossAndGrads(microBatches: readonly StackBatch[]): Promise<LossAndGradients> {
    if (microBatches.length === 0) throw new MasamError('lossAndGrads: no micro-batches');
    const stacks = microBatches[0]!.image.shape[0]!;
    if (microBatches.some((m) => m.image.shape[0] !== stacks))
      throw new MasamError('lossAndGrads: every micro-batch must hold the same number of stacks');
    if (microBatches.length === 1) {
      const r = await this.gradients(microBatches[0]!, 'loss');
      return {
        loss: r.loss,
        ce: Number(r.extra['ce']!.data[0]),
        dice: Number(r.extra['dice']!.data[0]),
        grads: r.grads,
      };
    }
    const c = surrogateCoefficients(await this.lossSums(microBatches), this.config.dice_weight);
    const grads = await this.surrogateGradients(microBatches, c);
    return { loss: c.loss, ce: c.ce, dice: c.dice, grads };
  }

  /** Pass 1: the loss sums over the micro-batches, added in order. */
  async lossSums(microBatches: readonly StackBatch[]): Promise<HostLossSums> {
    const total = emptySums(this.config.num_classes + 1);
    for (const mb of microBatches) addSums(total, await this.sums(mb));
    return total;
  }

  /** Pass 2: the sum over micro-batches of each one's surrogate gradients, with the batch's constants. */
  async surrogateGradients(
    microBatches: readonly StackBatch[],
    c: SurrogateConstants,
  ): Promise<Map<string, Float32Array | null>> {
    const k = this.config.num_classes + 1;
    const coefficients = {
      ce_scale: hostTensor('float64', [], Float64Array.of(c.ceScale)),
      dice_a: hostTensor('float64', [k], c.a),
      dice_b: hostTensor('float64', [k], c.b),
    };
    const grads = new Map<string, Float32Array | null>();
    for (const mb of microBatches) {
      const r = await this.gradients(mb, 'surrogate', coefficients);
      for (const [name, g] of r.grads) accumulateGradient(grads, name, g);
    }
    return grads;
  }

  /** Low-resolution logits [m·d, K, S, S] of a stack batch in eval mode (validation). */
  async logits(batch: Omit<StackBatch, 'label' | 'noise'>): Promise<Float32Array> {
    const stacks = batch.image.shape[0]!;
    const prompts = promptFeeds(batch.prompts);
    if (this.recompute === 'none') {
      const session = (await this.program(`logits:${stacks}`, (o) =>
        this.compileWhole(stacks, 'logits', o),
      )) as Session;
      const r = await session.run(this.feeds(session.inputs, { image: batch.image, ...prompts }));
      return r['logits']!.data as Float32Array;
    }
    let h = await this.runEmbed(batch.image);
    for (let i = 0; i < this.config.depth; i++) h = await this.runBlockForward(i, h, undefined, false);
    const session = (await this.program(`head-logits:${stacks}`, (o) =>
      this.compileHead(stacks, 'logits', o),
    )) as Session;
    const r = await session.run(this.feeds(session.inputs, { tokens: h, ...prompts }));
    return r['logits']!.data as Float32Array;
  }

  /** Keys of the programs compiled so far (kind, policy details and stacks per run). */
  compiledPrograms(): string[] {
    return [...this.programs.keys()];
  }

  /** Ends ORT profiling of every program (with profilePrefix), so each writes its JSON trace. */
  async endProfiling(): Promise<void> {
    for (const p of this.programs.values()) {
      const s = await p;
      const session = s instanceof GradientSession ? s.session : s;
      (session as { endProfiling?: () => void }).endProfiling?.(); // ORT sessions only
    }
  }

  /**
   * Forgets the compiled programs (after weights that are baked in as constants changed). The sessions
   * themselves live in the compile cache, which other executors may share; clearCompileCache releases them.
   */
  forget(): void {
    this.programs.clear();
  }

  // ---- pass 1: the loss sums of one micro-batch -------------------------------------------------------

  private async sums(mb: StackBatch): Promise<HostLossSums> {
    const stacks = mb.image.shape[0]!;
    const noise = mb.noise ?? new Map();
    let session: Session;
    let feeds: Record<string, HostTensor>;
    if (this.recompute === 'none') {
      session = (await this.program(`sums:${stacks}`, (o) =>
        this.compileWhole(stacks, 'sums', o),
      )) as Session;
      feeds = this.feeds(
        session.inputs,
        { image: mb.image, label: mb.label, ...promptFeeds(mb.prompts) },
        noise,
      );
    } else {
      let h = await this.runEmbed(mb.image);
      for (let i = 0; i < this.config.depth; i++)
        h = await this.runBlockForward(i, h, noise, this.options.dropout);
      session = (await this.program(`head-sums:${stacks}`, (o) =>
        this.compileHead(stacks, 'sums', o),
      )) as Session;
      feeds = this.feeds(session.inputs, { tokens: h, label: mb.label, ...promptFeeds(mb.prompts) });
    }
    const r = await session.run(feeds);
    const num = (name: string) => Number(r[name]!.data[0]);
    return {
      nll: num('nll'),
      valid: num('valid'),
      intersection: Float64Array.from(r['intersection']!.data as Float64Array),
      predSq: Float64Array.from(r['pred_sq']!.data as Float64Array),
      targetSq: Float64Array.from(r['target_sq']!.data as Float64Array),
    };
  }

  // ---- pass 2 (or the only pass): gradients of one micro-batch ----------------------------------------

  private async gradients(
    mb: StackBatch,
    mode: HeadMode,
    coefficients: Record<string, HostTensor> = {},
  ): Promise<{ loss: number; grads: Map<string, Float32Array | null>; extra: Record<string, HostTensor> }> {
    const stacks = mb.image.shape[0]!;
    const noise = mb.noise ?? new Map();
    const batchFeeds = { label: mb.label, ...promptFeeds(mb.prompts), ...coefficients };
    if (this.recompute === 'none') {
      const program = (await this.program(`whole-${mode}:${stacks}`, (o) =>
        this.compileWhole(stacks, mode, o),
      )) as GradientSession;
      const r = await program.run(this.feeds(program.inputs, { image: mb.image, ...batchFeeds }, noise));
      return { loss: r.loss, grads: this.trainableGrads(r.grads), extra: r.extra };
    }
    // Forward, keeping each stage's input only.
    const depth = this.config.depth;
    const saved: HostTensor<'float32'>[] = [];
    let h = await this.runEmbed(mb.image);
    for (let i = 0; i < depth; i++) {
      saved.push(h);
      h = await this.runBlockForward(i, h, noise, this.options.dropout);
    }
    // Head: loss and its gradients, including d loss / d tokens.
    const head = (await this.program(`head-${mode}:${stacks}`, (o) =>
      this.compileHead(stacks, mode, o),
    )) as GradientSession;
    const r = await head.run(this.feeds(head.inputs, { tokens: h, ...batchFeeds }));
    const grads = new Map<string, Float32Array | null>();
    for (const [name, g] of r.grads) if (name !== 'tokens') accumulateGradient(grads, name, g);
    let cotangent = r.grads.get('tokens')!;
    // Blocks in reverse, each recomputed from its saved input.
    for (let i = depth - 1; i >= 0; i--) {
      const needInput = i > 0 || this.embedTrains();
      const b = await this.runBlockBackward(i, saved[i]!, cotangent, noise, needInput);
      saved.pop();
      for (const [name, g] of b.grads) accumulateGradient(grads, name, g);
      if (needInput) cotangent = b.inputGrad!;
    }
    if (this.embedTrains()) {
      const program = (await this.program(`embed-grad:${stacks}`, (o) =>
        this.compileEmbed(stacks, true, o),
      )) as GradientSession;
      const e = await program.run(
        this.feeds(program.inputs, { image: mb.image, cotangent: tokensTensor(cotangent, h.shape) }),
      );
      for (const [name, g] of e.grads) accumulateGradient(grads, name, g);
    }
    return { loss: r.loss, grads: this.trainableGrads(grads), extra: r.extra };
  }

  /** The gradient map over every trainable name (null where no program produced one). */
  private trainableGrads(found: ReadonlyMap<string, Float32Array | null>): Map<string, Float32Array | null> {
    return new Map([...this.options.trainable].map((n) => [n, found.get(n) ?? null]));
  }

  // ---- stage runs -------------------------------------------------------------------------------------

  private async runEmbed(image: HostTensor<'float32'>): Promise<HostTensor<'float32'>> {
    const stacks = image.shape[0]!;
    const session = (await this.program(`embed:${stacks}`, (o) =>
      this.compileEmbed(stacks, false, o),
    )) as Session;
    const r = await session.run(this.feeds(session.inputs, { image }));
    return r['tokens'] as HostTensor<'float32'>;
  }

  private async runBlockForward(
    i: number,
    tokens: HostTensor<'float32'>,
    noise: ReadonlyMap<string, HostTensor> | undefined,
    dropout: boolean,
  ): Promise<HostTensor<'float32'>> {
    const stacks = tokens.shape[0]! / this.config.slices;
    const rep = this.representative[i]!;
    const session = (await this.program(`block-fwd:${rep}:${dropout}:${stacks}`, (o) =>
      this.compileBlock(rep, stacks, dropout, null, o),
    )) as Session;
    const r = await session.run(this.feeds(session.inputs, { tokens }, noise, { rep, index: i }));
    return r['tokens_out'] as HostTensor<'float32'>;
  }

  private async runBlockBackward(
    i: number,
    tokens: HostTensor<'float32'>,
    cotangent: Float32Array,
    noise: ReadonlyMap<string, HostTensor>,
    needInputGrad: boolean,
  ): Promise<{ grads: Map<string, Float32Array | null>; inputGrad?: Float32Array }> {
    const stacks = tokens.shape[0]! / this.config.slices;
    const rep = this.representative[i]!;
    const program = (await this.program(`block-grad:${rep}:${needInputGrad}:${stacks}`, (o) =>
      this.compileBlock(rep, stacks, this.options.dropout, { needInputGrad }, o),
    )) as GradientSession;
    const r = await program.run(
      this.feeds(program.inputs, { tokens, cotangent: tokensTensor(cotangent, tokens.shape) }, noise, {
        rep,
        index: i,
      }),
    );
    const grads = new Map<string, Float32Array | null>();
    for (const [name, g] of r.grads) if (name !== 'tokens') grads.set(renameBlock(name, rep, i), g);
    const inputGrad = r.grads.get('tokens');
    return { grads, ...(inputGrad && { inputGrad }) };
  }

  // ---- feeds --------------------------------------------------------------------------------------------

  /**
   * Feeds for a program: named batch tensors, then noise and weights by input name. A shared block program
   * traced for block `block.rep` gets block `block.index`'s noise and weights under its own input names.
   */
  private feeds(
    inputs: readonly { name: string }[],
    named: Readonly<Record<string, HostTensor>>,
    noise: ReadonlyMap<string, HostTensor> = new Map(),
    block?: { readonly rep: number; readonly index: number },
  ): Record<string, HostTensor> {
    const feeds: Record<string, HostTensor> = {};
    for (const { name } of inputs) {
      const own = block ? renameBlock(name, block.rep, block.index) : name;
      const t = named[name] ?? noise.get(own) ?? this.options.weights.get(own);
      if (!t) throw new MasamError(`executor: nothing to feed to input '${own}'`);
      feeds[name] = t;
    }
    return feeds;
  }

  // ---- programs -----------------------------------------------------------------------------------------

  private program(key: string, build: (options: CompileOptions) => Promise<GradientSession | Session>) {
    let p = this.programs.get(key);
    if (!p) {
      p = build(this.compileOptions(key));
      this.programs.set(key, p);
      p.catch(() => this.programs.delete(key));
    }
    return p;
  }

  /** Session options; a profile's file is named after its program (`<prefix>-block-grad-2-true-1_<date>.json`). */
  private compileOptions(key: string): CompileOptions {
    const prefix = this.options.profilePrefix;
    return {
      device: this.options.device ?? 'cpu',
      memoryArena: false,
      ...(this.options.threads && { threads: this.options.threads }),
      ...(prefix && { profilePrefix: `${prefix}-${key.replace(/[^a-z0-9]+/gi, '-')}` }),
    };
  }

  /** A graph with the model's parameters: `asInputs` are fed at run time, the rest baked in as constants. */
  private trace(asInputs: ReadonlySet<string>) {
    const graph = new Graph();
    const source = new ParamSource({ graph, weights: this.options.weights, trainable: asInputs });
    return { graph, source, model: new MaSam(this.config, new ParamScope(source)) };
  }

  private imageInput(graph: Graph, stacks: number): Value {
    const cfg = this.config;
    return graph.input('image', 'float32', [stacks, cfg.slices, cfg.in_chans, cfg.img_size, cfg.img_size]);
  }

  private noiseInput(graph: Graph) {
    return (site: string, shape: readonly number[]) => graph.input(`noise/${site}`, 'float32', shape);
  }

  /** The head's objective in each mode, from the logits. */
  private objective(graph: Graph, logits: Value, mode: HeadMode | 'sums') {
    const cfg = this.config;
    const label = graph.input('label', 'int32', [logits.shape[0]!, cfg.img_size, cfg.img_size]);
    if (mode === 'loss') {
      const { loss, ce, dice } = segmentationLoss(logits, label, cfg.dice_weight);
      return { loss, extra: { ce, dice } as Record<string, Value> };
    }
    const s: LossSums = lossSums(logits, label);
    if (mode === 'sums') return { sums: s };
    const k = cfg.num_classes + 1;
    const loss = surrogateLoss(
      s,
      graph.input('ce_scale', 'float64', []),
      graph.input('dice_a', 'float64', [k]),
      graph.input('dice_b', 'float64', [k]),
    );
    return { loss, extra: {} as Record<string, Value> };
  }

  private wrtTrainable(source: ParamSource): Map<string, Value> {
    return new Map([...this.options.trainable].map((n) => [n, source.valueOf(n)]));
  }

  /** The whole model in one graph (policy 'none'). */
  private async compileWhole(stacks: number, mode: HeadMode | 'sums' | 'logits', options: CompileOptions) {
    const { graph, source, model } = this.trace(this.options.trainable);
    const prompts = this.promptInputs(graph, stacks);
    const dropout = this.options.dropout && mode !== 'logits';
    const out = model.forward(this.imageInput(graph, stacks), {
      ...(dropout && { noise: this.noiseInput(graph) }),
      ...prompts,
    });
    return this.finish(graph, source, out.lowResLogits, mode, options);
  }

  /** Neck + prompt encoder + decoder + objective from the last block's tokens (policy 'blocks'). */
  private async compileHead(stacks: number, mode: HeadMode | 'sums' | 'logits', options: CompileOptions) {
    const { graph, source, model } = this.trace(this.options.trainable);
    const cfg = this.config;
    const t = cfg.img_size / cfg.patch_size;
    const tokens = graph.input('tokens', 'float32', [stacks * cfg.slices, t, t, cfg.embed_dim]);
    const out = model.head(tokens, this.promptInputs(graph, stacks));
    const wrt = new Map([['tokens', tokens]]);
    return this.finish(graph, source, out.lowResLogits, mode, options, wrt);
  }

  private finish(
    graph: Graph,
    source: ParamSource,
    logits: Value,
    mode: HeadMode | 'sums' | 'logits',
    options: CompileOptions,
    extraWrt: ReadonlyMap<string, Value> = new Map(),
  ): Promise<GradientSession | Session> {
    if (mode === 'logits') return compile({ logits }, options);
    const o = this.objective(graph, logits, mode);
    if ('sums' in o) {
      const s = o.sums!;
      return compile(
        {
          nll: s.nll,
          valid: s.valid,
          intersection: s.intersection,
          pred_sq: s.predSq,
          target_sq: s.targetSq,
        },
        options,
      );
    }
    const wrt = new Map([...extraWrt, ...this.wrtTrainable(source)]);
    return compileGradient({ loss: o.loss!, wrt, extra: o.extra! }, options);
  }

  /** Normalisation + patch embedding: the forward, or (withGrad) the gradient of Σ tokens·cotangent. */
  private async compileEmbed(stacks: number, withGrad: boolean, options: CompileOptions) {
    const { graph, source, model } = this.trace(this.options.trainable);
    const tokens = model.embed(this.imageInput(graph, stacks));
    if (!withGrad) return compile({ tokens }, options);
    const loss = F.sum(F.mul(tokens, graph.input('cotangent', 'float32', tokens.shape)));
    return compileGradient({ loss, wrt: this.wrtTrainable(source) }, options);
  }

  /**
   * Block `rep`'s program, shared by every block of its kind: all of its weights are inputs. Forward
   * (grad null): tokens → tokens_out. Gradient: Σ tokens_out·cotangent differentiated by the trainable
   * weights (and by the tokens when the stage below needs them) — the block's VJP at its recomputed forward.
   */
  private async compileBlock(
    rep: number,
    stacks: number,
    dropout: boolean,
    grad: { needInputGrad: boolean } | null,
    options: CompileOptions,
  ) {
    const allWeights = new Set(this.options.weights.keys());
    const { graph, source, model } = this.trace(allWeights);
    const cfg = this.config;
    const t = cfg.img_size / cfg.patch_size;
    const tokens = graph.input('tokens', 'float32', [stacks * cfg.slices, t, t, cfg.embed_dim]);
    const out = model.block(rep, tokens, cfg.slices, dropout ? this.noiseInput(graph) : undefined);
    if (!grad) return compile({ tokens_out: out }, options);
    const loss = F.sum(F.mul(out, graph.input('cotangent', 'float32', out.shape)));
    const wrt = new Map<string, Value>();
    if (grad.needInputGrad) wrt.set('tokens', tokens);
    // Only the trainable weights this block can reach: its own and the encoder-wide FacT factors.
    for (const n of this.options.trainable)
      if (!n.startsWith(BLOCK_PREFIX) || n.startsWith(`${BLOCK_PREFIX}${rep}.`))
        wrt.set(n, source.valueOf(n));
    return compileGradient({ loss, wrt }, options);
  }

  private promptInputs(graph: Graph, stacks: number) {
    const p = this.options.prompts;
    return p ? promptGraphInputs(graph, stacks * this.config.slices, p.points) : {};
  }

  private embedTrains(): boolean {
    return [...this.options.trainable].some(
      (n) => n.startsWith('image_encoder.patch_embed') || n === 'image_encoder.pos_embed',
    );
  }
}

/** Renames block `from`'s parameter or noise name to block `to`'s (other names are unchanged). */
function renameBlock(name: string, from: number, to: number): string {
  if (from === to) return name;
  const prefix = `${BLOCK_PREFIX}${from}.`;
  const at = name.indexOf(prefix);
  return at < 0 ? name : `${name.slice(0, at)}${BLOCK_PREFIX}${to}.${name.slice(at + prefix.length)}`;
}

function tokensTensor(data: Float32Array, shape: readonly number[]): HostTensor<'float32'> {
  return hostTensor('float32', shape, data);
}

/** Feeds for promptGraphInputs (point inputs only exist with point slots). */
function promptFeeds(p: PromptFeeds | undefined): Record<string, HostTensor> {
  if (!p) return {};
  return {
    boxes: p.boxes,
    ...(p.pointLabels.shape[1]! > 0 && { point_coords: p.pointCoords, point_labels: p.pointLabels }),
  };
}

/** Adds a gradient into the map, in call order (so results never depend on timing). */
export function accumulateGradient(
  into: Map<string, Float32Array | null>,
  name: string,
  g: Float32Array | null,
): void {
  const have = into.get(name);
  if (!g) {
    if (have === undefined) into.set(name, null);
    return;
  }
  if (!have) {
    into.set(name, g);
    return;
  }
  for (let j = 0; j < have.length; j++) have[j]! += g[j];
}
