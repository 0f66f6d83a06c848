// data/: preprocessing (intensity, labels, SciPy zoom), D-slice stacks and overlap averaging, datasets in
// the nnU-Net v2 / MSD layout, synthetic phantoms, and (as the `augment` namespace) the official
// training augmentations. Host arrays only; no file system.
export * as augment from './augment/index.js';
export * from './dataset.js';
export * from './intensity.js';
export * from './labels.js';
export * from './phantom.js';
export * from './slices.js';
export * from './zoom.js';
