// The one place where masam turns an objective into a training computation: trace a scalar loss, append its
// gradients with grad() (autodiff/), and compile both into one ORT session. Every training path runs through
// compileGradient — the MA-SAM executor's single graph and each of its stages (train/executor.ts),
// `model.lossAndGrads`, and the small-network TrainStep that the engine tests train.
import { grad } from '../autodiff/index.js';
import type { HostTensor } from '../core/host_tensor.js';
import { Graph, type Value } from '../graph/index.js';
import type { TensorSpec } from '../onnx/export.js';
import { type CompileOptions, type Session, compile } from '../runtime/index.js';

/** What to differentiate: a scalar loss, the named values it is differentiated by, and extra outputs. */
export interface Objective {
  readonly loss: Value;
  /** Graph inputs (parameters, or a stage's input) by the name their gradient is returned under. */
  readonly wrt: ReadonlyMap<string, Value>;
  readonly extra?: Readonly<Record<string, Value>>;
}

export interface GradientResult {
  readonly loss: number;
  /** d loss / d value for each `wrt` name; null where the loss does not depend on it (PyTorch's None). */
  readonly grads: Map<string, Float32Array | null>;
  readonly extra: Record<string, HostTensor>;
}

/** A compiled objective: feeds in, loss + gradients + extras out. */
export class GradientSession {
  constructor(
    readonly session: Session,
    private readonly gradOutputs: ReadonlyMap<string, string | null>,
    private readonly extraNames: readonly string[],
  ) {}

  get inputs(): readonly TensorSpec[] {
    return this.session.inputs;
  }

  async run(feeds: Readonly<Record<string, HostTensor>>): Promise<GradientResult> {
    const out = await this.session.run(feeds);
    const grads = new Map<string, Float32Array | null>();
    for (const [name, output] of this.gradOutputs)
      grads.set(name, output ? (out[output]!.data as Float32Array) : null);
    const extra: Record<string, HostTensor> = {};
    for (const name of this.extraNames) extra[name] = out[`extra/${name}`]!;
    return { loss: Number(out['loss']!.data[0]), grads, extra };
  }
}

/**
 * Appends the gradients of `objective.loss` to its graph and compiles loss, gradients and extras. Without
 * ORT's memory arena by default: training graphs hold large, short-lived activations and peak far lower
 * without it (bench/results/model.json).
 */
export async function compileGradient(
  objective: Objective,
  options: CompileOptions = {},
): Promise<GradientSession> {
  const names = [...objective.wrt.keys()];
  const grads = grad(
    objective.loss,
    names.map((n) => objective.wrt.get(n)!),
  );
  const outputs: Record<string, Value> = { loss: objective.loss };
  const gradOutputs = new Map<string, string | null>();
  names.forEach((name, i) => {
    const g = grads[i];
    gradOutputs.set(name, g ? `grad/${name}` : null);
    if (g) outputs[`grad/${name}`] = g;
  });
  const extra = objective.extra ?? {};
  for (const [k, v] of Object.entries(extra)) outputs[`extra/${k}`] = v;
  const session = await compile(outputs, { memoryArena: false, ...options });
  return new GradientSession(session, gradOutputs, Object.keys(extra));
}

/** Builds the loss from graph values for the parameters and the batch inputs. */
export type TrainGraphBuilder = (vars: {
  readonly params: Readonly<Record<string, Value>>;
  readonly inputs: Readonly<Record<string, Value>>;
}) => { readonly loss: Value; readonly extra?: Readonly<Record<string, Value>> };

export interface TrainStepOptions {
  /** Parameters that learn; their arrays are fed each step and updated in place by the optimizer. */
  readonly trainable: ReadonlyMap<string, HostTensor<'float32'>>;
  /** Parameters that stay fixed: compiled into the graph as initializers. */
  readonly frozen?: ReadonlyMap<string, HostTensor>;
  /** Batch inputs (images, labels, dropout noise …). */
  readonly inputs: readonly TensorSpec[];
  readonly build: TrainGraphBuilder;
  readonly compileOptions?: CompileOptions;
}

/** A training step over a plain parameter map (small networks; MA-SAM goes through train/executor.ts). */
export class TrainStep {
  private constructor(
    private readonly program: GradientSession,
    private readonly trainable: ReadonlyMap<string, HostTensor<'float32'>>,
  ) {}

  static async create(o: TrainStepOptions): Promise<TrainStep> {
    const g = new Graph();
    const params: Record<string, Value> = {};
    for (const [name, t] of o.trainable) params[name] = g.input(name, 'float32', t.shape);
    for (const [name, t] of o.frozen ?? []) params[name] = g.constant(t, name);
    const inputs: Record<string, Value> = {};
    for (const spec of o.inputs) inputs[spec.name] = g.input(spec.name, spec.dtype, spec.shape);
    const { loss, extra } = o.build({ params, inputs });
    const wrt = new Map([...o.trainable.keys()].map((n) => [n, params[n]!]));
    const program = await compileGradient({ loss, wrt, ...(extra && { extra }) }, o.compileOptions);
    return new TrainStep(program, o.trainable);
  }

  /** Forward + backward on one batch with the current parameter values. */
  async run(batch: Readonly<Record<string, HostTensor>>): Promise<GradientResult> {
    const feeds: Record<string, HostTensor> = { ...batch };
    // Only parameters the loss uses are graph inputs (unused ones are pruned at export).
    const declared = new Set(this.program.inputs.map((s) => s.name));
    for (const [name, t] of this.trainable) if (declared.has(name)) feeds[name] = t;
    return this.program.run(feeds);
  }
}
