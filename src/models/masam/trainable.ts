// Which parameters MA-SAM trains (masam-spec §3.4), declared as groups at construction time: modules tag
// their parameters through ParamScope.group, and this list says which groups learn. No name matching.

import { BUFFER_GROUP } from '../../nn/index.js';

export const PARAM_GROUPS = {
  /** SAM's image encoder: patch embedding, positions, blocks, neck. */
  encoder: 'base',
  fact: 'fact',
  adapters: 'adapters',
  promptEncoder: 'prompt_encoder',
  maskDecoder: 'mask_decoder',
  /** Persistent buffers such as the prompt encoder's Gaussian matrix: never trained. */
  buffers: BUFFER_GROUP,
} as const;

/** The groups fine-tuning updates: FacT, both 3D adapters, the prompt encoder and the mask decoder. */
export const TRAINABLE_GROUPS: readonly string[] = [
  PARAM_GROUPS.fact,
  PARAM_GROUPS.adapters,
  PARAM_GROUPS.promptEncoder,
  PARAM_GROUPS.maskDecoder,
];

/** Names of the trainable parameters, given each parameter's group (ParamSource.groups). */
export function trainableNames(groups: ReadonlyMap<string, string>): Set<string> {
  return new Set([...groups].filter(([, g]) => TRAINABLE_GROUPS.includes(g)).map(([n]) => n));
}
