// autodiff/: reverse-mode differentiation of traced graphs.
export { grad, valueAndGrad } from './grad.js';
export { sumToShape, vjp } from './vjp.js';
