// A compiled training step: trainable parameters are graph inputs (fed from host Float32Arrays that the
// optimizer updates in place), frozen ones are baked in as initializers, and one ORT graph returns the
// loss, any extra outputs and every trainable gradient.
import { grad } from '../autodiff/index.js';
import type { HostTensor } from '../core/host_tensor.js';
import { Graph, type Value } from '../graph/index.js';
import type { TensorSpec } from '../onnx/export.js';
import { type CompileOptions, type Session, compile } from '../runtime/index.js';

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

export interface TrainStepResult {
  readonly loss: number;
  /** Gradient per trainable parameter; null where the loss does not depend on it (PyTorch's None). */
  readonly grads: Map<string, Float32Array | null>;
  readonly extra: Record<string, HostTensor>;
}

export class TrainStep {
  private constructor(
    private readonly session: Session,
    private readonly trainable: ReadonlyMap<string, HostTensor<'float32'>>,
    private readonly gradNames: ReadonlyMap<string, string | null>,
    private readonly extraNames: readonly string[],
  ) {}

  static async create(o: TrainStepOptions): Promise<TrainStep> {
    const g = new Graph();
    const params: Record<string, Value> = {};
    const trainableValues: Value[] = [];
    for (const [name, t] of o.trainable) {
      params[name] = g.input(name, 'float32', t.shape);
      trainableValues.push(params[name]!);
    }
    for (const [name, t] of o.frozen ?? []) params[name] = g.constant(t, name);
    const inputs: Record<string, Value> = {};
    for (const spec of o.inputs) inputs[spec.name] = g.input(spec.name, spec.dtype, spec.shape);

    const { loss, extra = {} } = o.build({ params, inputs });
    const grads = grad(loss, trainableValues);
    const outputs: Record<string, Value> = { loss, ...prefixed('extra/', extra) };
    const gradNames = new Map<string, string | null>();
    [...o.trainable.keys()].forEach((name, i) => {
      const gv = grads[i];
      gradNames.set(name, gv ? `grad/${name}` : null);
      if (gv) outputs[`grad/${name}`] = gv;
    });
    const session = await compile(outputs, o.compileOptions);
    return new TrainStep(session, o.trainable, gradNames, Object.keys(extra));
  }

  /** Forward + backward on one batch with the current parameter values. */
  async run(batch: Readonly<Record<string, HostTensor>>): Promise<TrainStepResult> {
    const feeds: Record<string, HostTensor> = { ...batch };
    // Only parameters the loss uses are graph inputs (unused ones are pruned at export).
    const declared = new Set(this.session.inputs.map((s) => s.name));
    for (const [name, t] of this.trainable) if (declared.has(name)) feeds[name] = t;
    const out = await this.session.run(feeds);
    const grads = new Map<string, Float32Array | null>();
    for (const [name, outName] of this.gradNames)
      grads.set(name, outName ? (out[outName]!.data as Float32Array) : null);
    const extra: Record<string, HostTensor> = {};
    for (const name of this.extraNames) extra[name] = out[`extra/${name}`]!;
    return { loss: Number(out['loss']!.data[0]), grads, extra };
  }
}

function prefixed(prefix: string, values: Readonly<Record<string, Value>>): Record<string, Value> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${prefix}${k}`, v]));
}
