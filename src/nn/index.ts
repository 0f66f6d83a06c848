// nn/: named parameters and layers built on the ops API.
export * from './init.js';
export * from './layers.js';
export * from './param.js';
