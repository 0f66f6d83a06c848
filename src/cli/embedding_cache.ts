// `masam segment --embeddings DIR`: the image embeddings of each stack kept on disk (issue 13), so that a
// second run on the same volume with the same split model — new prompts, another stride — runs only the
// decoder. One folder per (encoder, volume) pair, named by a SHA-256 of the encoder file's bytes and the
// volume's shape, type and voxels, so a changed model or volume never meets stale embeddings:
//   DIR/<key>/stack_<centre>.f32   float32 [D, P, T, T], little-endian, written atomically
//   DIR/<key>/source.json          what the key was made of, for a person looking at the folder
// The cost is disk: a ViT-B stack at 512² is D·256·32·32·4 B = 5.2 MB, a 150-slice CT about 790 MB.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../api/files.js';
import { MasamError } from '../core/errors.js';
import type { EmbeddingStore } from '../infer/segment.js';
import type { Volume } from '../io/volume.js';

/** SHA-256 of a file's bytes, streamed (an encoder can be gigabytes): hash a model's encoder once per run. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (err) {
    throw new MasamError(`${path}: cannot read the model (${(err as Error).message})`);
  }
  return hash.digest('hex');
}

/** Embeddings on disk for one encoder and one volume. */
export class DiskEmbeddingStore implements EmbeddingStore {
  /** Stacks found on disk and stacks written in this process. */
  reused = 0;
  written = 0;

  private constructor(readonly dir: string) {}

  /**
   * The store of `volume` under `root` for the encoder file `encoder.file` whose SHA-256 (fileSha256) is
   * `encoder.sha256`; creates its folder.
   * @param source names the volume in source.json
   */
  static async open(
    root: string,
    encoder: { readonly file: string; readonly sha256: string },
    volume: Pick<Volume, 'data' | 'dtype' | 'shape'>,
    source: string,
  ): Promise<DiskEmbeddingStore> {
    const data = volume.data;
    const key = createHash('sha256')
      .update(`${encoder.sha256}\n${volume.dtype}[${volume.shape.join(',')}]\n`)
      .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      .digest('hex')
      .slice(0, 32);
    const dir = join(root, key);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new MasamError(`${root}: cannot create the embeddings folder (${(err as Error).message})`);
    }
    const about = {
      encoder: encoder.file,
      encoderSha256: encoder.sha256,
      volume: source,
      shape: volume.shape,
    };
    await writeFileAtomic(
      join(dir, 'source.json'),
      new TextEncoder().encode(`${JSON.stringify(about, null, 2)}\n`),
    );
    return new DiskEmbeddingStore(dir);
  }

  private file(centre: number): string {
    return join(this.dir, `stack_${centre}.f32`);
  }

  async get(centre: number): Promise<Float32Array | undefined> {
    const bytes = await readFile(this.file(centre)).catch(() => undefined);
    // A file that is not whole floats is not ours (writes are atomic): encode the stack again.
    if (!bytes || bytes.byteLength === 0 || bytes.byteLength % 4 !== 0) return undefined;
    this.reused++;
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return new Float32Array(copy.buffer);
  }

  async set(centre: number, embeddings: Float32Array): Promise<void> {
    await writeFileAtomic(
      this.file(centre),
      new Uint8Array(embeddings.buffer, embeddings.byteOffset, embeddings.byteLength),
    );
    this.written++;
  }
}
