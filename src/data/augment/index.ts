// data/augment: the official RandomGenerator augmentations as explicit-rng, fixed-params ops (spec 8.6).
export * from './erase.js';
export * from './gamma.js';
export * from './pil.js';
export * from './rand_augment.js';
export * from './random_generator.js';
export * from './rot_flip.js';
export * from './rotate.js';
export * from './sample.js';
