// graph/: symbolic values, nodes, the tracing graph and name scopes. Knows nothing of ONNX protobuf.
export { Graph, type TypeInfo } from './graph.js';
export { Node } from './node.js';
export { Value, type ValueSource } from './value.js';
