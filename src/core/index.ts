// core/: dtypes, shapes, host tensors, seeded RNG, typed errors. Pure TypeScript, no dependencies.
export * from './dtype.js';
export * from './errors.js';
export * from './host_tensor.js';
export * from './rng.js';
export * from './shape.js';
