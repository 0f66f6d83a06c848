// ops/: the primitives and the user-facing ops API.
export * from './api.js';
export * from './composite.js';
export { type Emitter, type OnnxAttr, type OpDef, RuleError } from './def.js';
export { PRIMITIVES, type PrimitiveName, primitiveOf } from './registry.js';
export { resizeMatrix } from './resize.js';
