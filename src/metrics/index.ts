// metrics/: Dice, HD95, ASSD, NSD on host label volumes and the evaluation report (masam-spec §10.3, §10.4).
export * from './dice.js';
export { type Grid, type LabelArray, type LabelVolume, binaryMask } from './label_volume.js';
export * from './report.js';
export * from './surface.js';
