// Parameters by name. A ParamScope hands model code a graph value for each named parameter; names are
// the upstream checkpoint keys (`image_encoder.blocks.3.attn.qkv.weight`), so one code path builds a
// model from loaded weights or from fresh initialisation, for inference or for training.
import { MasamError } from '../core/errors.js';
import type { HostTensor } from '../core/host_tensor.js';
import type { Rng } from '../core/rng.js';
import { formatShape, numel, shapesEqual } from '../core/shape.js';
import type { Graph, Value } from '../graph/index.js';
import type { Init } from './init.js';

/** Group of persistent buffers (saved in checkpoints, never trained), e.g. SAM's Gaussian PE matrix. */
export const BUFFER_GROUP = 'buffers';

/** Named float32 weights: what checkpoints load into and optimizers update. */
export type Weights = Map<string, HostTensor<'float32'>>;

export interface ParamSourceOptions {
  readonly graph: Graph;
  readonly weights: Weights;
  /** Names fed as graph inputs (trainable in this graph); all others become initializers. */
  readonly trainable?: ReadonlySet<string>;
  /** Initialises missing weights (and stores them in `weights`); without it a missing weight is an error. */
  readonly rng?: Rng;
  /** Only record names and shapes (every parameter becomes a data-less graph input). */
  readonly shapesOnly?: boolean;
}

/** Resolves parameter names to graph values for one trace. */
export class ParamSource {
  private readonly values = new Map<string, Value>();
  /** Every parameter the traced model declared, in declaration order. */
  readonly declared: string[] = [];
  /** The group each parameter was declared in (see ParamScope.group); 'base' by default. */
  readonly groups = new Map<string, string>();
  /** Shape of each declared parameter. */
  readonly shapes = new Map<string, readonly number[]>();

  constructor(readonly options: ParamSourceOptions) {}

  get graph(): Graph {
    return this.options.graph;
  }

  /** The graph value of a parameter already declared in this trace. */
  valueOf(name: string): Value {
    const v = this.values.get(name);
    if (!v) throw new MasamError(`parameter '${name}' was not declared by the traced model`);
    return v;
  }

  value(name: string, shape: readonly number[], init: Init, group = 'base'): Value {
    const cached = this.values.get(name);
    if (cached) {
      if (!shapesEqual(cached.shape, shape))
        throw new MasamError(`parameter '${name}' declared twice with different shapes`);
      return cached;
    }
    this.groups.set(name, group);
    this.shapes.set(name, [...shape]);
    if (this.options.shapesOnly) {
      const input = this.graph.input(name, 'float32', shape);
      this.values.set(name, input);
      this.declared.push(name);
      return input;
    }
    let tensor = this.options.weights.get(name);
    if (!tensor) {
      if (!this.options.rng) throw new MasamError(`missing weight '${name}' ${formatShape(shape)}`);
      tensor = init(shape, this.options.rng);
      this.options.weights.set(name, tensor);
    }
    if (!shapesEqual(tensor.shape, shape) || tensor.data.length !== numel(shape)) {
      throw new MasamError(
        `weight '${name}' has shape ${formatShape(tensor.shape)}, the model needs ${formatShape(shape)}`,
      );
    }
    const v = this.options.trainable?.has(name)
      ? this.graph.input(name, 'float32', shape)
      : this.graph.constant(tensor, name);
    this.values.set(name, v);
    this.declared.push(name);
    return v;
  }
}

/**
 * A name prefix over a ParamSource: `p.pp('blocks.3').param('norm1.weight', …)`. A scope may also tag
 * the parameters declared under it with a group (`p.group('adapters')`), so models state explicitly which
 * groups train instead of matching name substrings.
 */
export class ParamScope {
  constructor(
    readonly source: ParamSource,
    readonly prefix = '',
    readonly groupName = 'base',
  ) {}

  /** The scope one level down. */
  pp(name: string): ParamScope {
    return new ParamScope(this.source, this.key(name), this.groupName);
  }

  /** The same prefix, with parameters declared under it tagged `group`. */
  group(group: string): ParamScope {
    return new ParamScope(this.source, this.prefix, group);
  }

  /** The full checkpoint key of `name` in this scope. */
  key(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  param(name: string, shape: readonly number[], init: Init): Value {
    return this.source.value(this.key(name), shape, init, this.groupName);
  }

  /** Runs `fn` inside a graph name scope named after this parameter scope (for the profiler). */
  traced<T>(fn: () => T): T {
    return this.prefix ? this.source.graph.withScope(this.prefix, fn) : fn();
  }
}
