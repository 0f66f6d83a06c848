// UIDs that derive from what an object holds instead of chance: the same content gives the same UIDs, so
// storing a result twice (a queue job retried after its worker died between STOW-RS and the ack, a label
// saved again) names the same instance, and a PACS keeps one. Each UID is a 2.25 UUID (PS3.5 B.2) of RFC
// 9562 version 8, its 122 free bits from SHA-256(seed ‖ counter) (RFC 9562 B.2 builds a v8 UUID the same way).
import { createHash } from 'node:crypto';
import { uuidUid } from '../io/dicom_seg.js';

/** A part of the seed: text (UTF-8) or bytes. */
export type SeedPart = string | Uint8Array;

/**
 * A UID source for serializeDicomSeg's `uid` option: its n-th UID depends only on `seed` and n. Each part is
 * hashed with its length first, so ['ab', 'c'] and ['a', 'bc'] differ.
 */
export function contentUids(seed: readonly SeedPart[]): () => string {
  const base = createHash('sha256');
  for (const part of seed) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(bytes.length));
    base.update(length).update(bytes);
  }
  let counter = 0;
  return () => {
    const n = Buffer.alloc(4);
    n.writeUInt32LE(counter++);
    return uuidUid(base.copy().update(n).digest(), 8);
  };
}
