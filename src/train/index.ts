// train/: losses, optimizer, schedule and the compiled training step.
export * from './losses.js';
export * from './optim.js';
export * from './schedule.js';
export * from './step.js';
