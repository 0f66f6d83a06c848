// Graph: records nodes as model code runs (tracing). Inputs are fed at run time; constants become ONNX
// initializers. Nodes are appended in execution order, so the node list is always topologically sorted.
import type { DType } from '../core/dtype.js';
import { MasamError } from '../core/errors.js';
import type { HostTensor } from '../core/host_tensor.js';
import { type Shape, formatShape, numel } from '../core/shape.js';
import { Node } from './node.js';
import { ScopeStack } from './scope.js';
import { Value } from './value.js';

export interface TypeInfo {
  readonly dtype: DType;
  readonly shape: Shape;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  /** Constant values and their host data (ONNX initializers). */
  readonly constants = new Map<Value, HostTensor>();
  private readonly scopes = new ScopeStack();
  private readonly names = new Set<string>();
  private nextId = 0;

  /** The current scope path ('' at top level). */
  get scope(): string {
    return this.scopes.path;
  }

  /** Runs `fn` inside a name scope. */
  withScope<T>(name: string, fn: () => T): T {
    return this.scopes.run(name, fn);
  }

  /** A placeholder fed at run time. */
  input(name: string, dtype: DType, shape: Shape): Value {
    this.claimName(name);
    const v = new Value(this, this.nextId++, dtype, [...shape], { kind: 'input', name });
    this.inputs.push(v);
    return v;
  }

  /** A constant (an ONNX initializer). Names must be unique; unnamed constants get one from their id. */
  constant(tensor: HostTensor, name?: string): Value {
    const id = this.nextId++;
    const n = name ?? `const_${id}`;
    this.claimName(n);
    if (tensor.data.length !== numel(tensor.shape)) {
      throw new MasamError(
        `constant '${n}': ${tensor.data.length} elements for shape ${formatShape(tensor.shape)}`,
      );
    }
    const v = new Value(this, id, tensor.dtype, [...tensor.shape], { kind: 'constant', name: n });
    this.constants.set(v, tensor);
    return v;
  }

  /** Records a node with already shape-checked output types; used by ops/bind. */
  addNode(op: string, inputs: readonly Value[], attrs: unknown, outputTypes: readonly TypeInfo[]): Value[] {
    for (const x of inputs) {
      if (x.graph !== this) throw new MasamError(`${op}: input ${x} belongs to another graph`);
    }
    const node = new Node(this.nextId++, op, inputs, attrs, this.scope);
    outputTypes.forEach((t, index) => {
      node.outputs.push(new Value(this, this.nextId++, t.dtype, [...t.shape], { kind: 'node', node, index }));
    });
    this.nodes.push(node);
    return node.outputs;
  }

  /** Host data of a constant value, or undefined for computed values and inputs. */
  constantData(v: Value): HostTensor | undefined {
    return this.constants.get(v);
  }

  private claimName(name: string): void {
    if (this.names.has(name)) throw new MasamError(`graph already has an input or constant named '${name}'`);
    this.names.add(name);
  }
}
