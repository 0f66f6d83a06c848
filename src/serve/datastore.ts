// The MONAI Label datastore of `masam serve` on a local folder: images as `<id>.nii` / `<id>.nii.gz`,
// labels as `labels/<tag>/<id>.nii(.gz)` (MONAI Label's local datastore keeps the same layout, with the tag
// "final" for saved labels). Ids and tags are file stems from clients, so they are checked against a
// strict pattern: nothing that could leave the folder ('..', '/', '\', NUL) gets near a path.
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../api/files.js';
import { isGzip } from '../io/gzip.js';
import { parseNifti, serializeNifti } from '../io/nifti.js';
import type { Volume } from '../io/volume.js';
import { ServeError } from './serve_error.js';

/** Letters, digits, '.', '_', '-'; starts with a letter or digit; no '..'; at most 128 characters. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const NIFTI_EXTS = ['.nii.gz', '.nii'] as const;
/** MONAI Label's tag for a label saved by a user. */
export const FINAL_TAG = 'final';

/**
 * `id` when it is a safe file stem.
 * @throws ServeError 400 naming `what` otherwise
 */
export function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id) || id.includes('..')) {
    throw new ServeError(
      400,
      `${what} ${JSON.stringify(id)} is not a valid id (letters, digits, '.', '_', '-'; no '..')`,
    );
  }
  return id;
}

/**
 * An uploaded NIfTI: parsed to check it (the server never stores what it cannot read back).
 * @throws ServeError 400 naming `what` when the bytes are not a readable NIfTI of 3 or 4 dimensions
 */
export function parseUploadedNifti(bytes: Uint8Array, what: string, maxBytes: number): Volume {
  let volume: Volume;
  try {
    volume = parseNifti(bytes, what, { maxBytes });
  } catch (err) {
    throw new ServeError(400, `${what}: not a readable NIfTI volume (${(err as Error).message})`);
  }
  if (volume.shape.length < 3)
    throw new ServeError(400, `${what}: a 3D volume is needed, got ${volume.shape.length}D`);
  return volume;
}

interface StoredFile {
  readonly ext: string;
  readonly info: Record<string, unknown>;
}

/** One entry of the datastore listing, as MONAI Label's local datastore lists it. */
export interface DatastoreObject {
  readonly image: StoredFile;
  readonly labels: Record<string, StoredFile>;
}

/** Totals of a datastore (MONAI Label's datastore status). */
export interface DatastoreStatus {
  readonly total: number;
  readonly completed: number;
  readonly label_tags: Record<string, number>;
}

/** Totals of a listing (MONAI Label's datastore status): images, images with a final label, labels per tag. */
export function statusOf(listing: Readonly<Record<string, DatastoreObject>>): DatastoreStatus {
  const objects = Object.values(listing);
  const tags: Record<string, number> = {};
  for (const o of objects) for (const tag of Object.keys(o.labels)) tags[tag] = (tags[tag] ?? 0) + 1;
  return {
    total: objects.length,
    completed: objects.filter((o) => o.labels[FINAL_TAG]).length,
    label_tags: tags,
  };
}

/** What the server needs of a datastore: this folder, or a DICOMweb server (dicomweb_datastore.ts). */
export interface Datastore {
  objects(): Promise<Record<string, DatastoreObject>>;
  status(): Promise<DatastoreStatus>;
  /** A key that changes when image `id` does (the segmenter cache keys on it). @throws ServeError 404 */
  imageKey(id: string): Promise<string>;
  readImage(id: string): Promise<Volume>;
  /** Image `id` as a file to download. */
  imageFile(id: string): Promise<{ name: string; bytes: Uint8Array }>;
  /** The label of image `id` under `tag` as a file to download. */
  labelFile(id: string, tag: string): Promise<{ name: string; bytes: Uint8Array }>;
  addImage(id: string, bytes: Uint8Array): Promise<string>;
  /**
   * Stores `label`, a label map already checked to lie on image `id`'s grid (uploaded_label.ts), under
   * `tag`; `classNames[v]` names label value v (0: background).
   */
  saveLabel(id: string, tag: string, label: Volume, classNames: readonly string[]): Promise<string>;
}

export class LocalDatastore implements Datastore {
  constructor(
    readonly folder: string,
    /** Largest decompressed NIfTI accepted, in bytes. */
    private readonly maxNiftiBytes: number,
  ) {}

  private labelDir(tag: string): string {
    return join(this.folder, 'labels', tag);
  }

  /** The file of a stored image or label, or undefined. */
  private async find(
    dir: string,
    id: string,
  ): Promise<{ path: string; ext: string; mtimeMs: number } | undefined> {
    for (const ext of NIFTI_EXTS) {
      const path = join(dir, `${id}${ext}`);
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile()) return { path, ext, mtimeMs: info.mtimeMs };
    }
    return undefined;
  }

  /** Every stored file's id and extension in `dir`. */
  private async list(dir: string): Promise<Map<string, string>> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const found = new Map<string, string>();
    for (const name of names.sort()) {
      const ext = NIFTI_EXTS.find((e) => name.endsWith(e));
      if (!ext) continue;
      const id = name.slice(0, -ext.length);
      if (ID_PATTERN.test(id) && !found.has(id)) found.set(id, ext);
    }
    return found;
  }

  /** A stored image's file and modification time (the segmenter cache keys on both). */
  async image(id: string): Promise<{ path: string; mtimeMs: number }> {
    const found = await this.find(this.folder, checkId(id, 'image'));
    if (!found) throw new ServeError(404, `image '${id}' is not in the datastore`);
    return found;
  }

  /** A stored label's file. @throws ServeError 404 when image `id` has none under `tag` */
  async label(id: string, tag: string): Promise<{ path: string; ext: string }> {
    const found = await this.find(this.labelDir(checkId(tag, 'tag')), checkId(id, 'label'));
    if (!found) throw new ServeError(404, `image '${id}' has no label tagged '${tag}'`);
    return found;
  }

  async imageKey(id: string): Promise<string> {
    const { mtimeMs } = await this.image(id);
    return `image:${id}:${mtimeMs}`;
  }

  async imageFile(id: string): Promise<{ name: string; bytes: Uint8Array }> {
    const { path } = await this.image(id);
    return { name: path.slice(path.lastIndexOf('/') + 1), bytes: await readFile(path) };
  }

  async labelFile(id: string, tag: string): Promise<{ name: string; bytes: Uint8Array }> {
    const { path, ext } = await this.label(id, tag);
    return { name: `${id}${ext}`, bytes: await readFile(path) };
  }

  async readImage(id: string): Promise<Volume> {
    const { path } = await this.image(id);
    return parseUploadedNifti(await readFile(path), `image '${id}'`, this.maxNiftiBytes);
  }

  /** Stores an uploaded NIfTI as image `id` (replacing one of that id), atomically. */
  async addImage(id: string, bytes: Uint8Array): Promise<string> {
    checkId(id, 'image');
    parseUploadedNifti(bytes, `image '${id}'`, this.maxNiftiBytes);
    await mkdir(this.folder, { recursive: true });
    await this.store(this.folder, id, bytes);
    return id;
  }

  /** Stores a label of image `id` under `tag` as `labels/<tag>/<id>.nii.gz` (class names are not kept). */
  async saveLabel(id: string, tag: string, label: Volume): Promise<string> {
    checkId(tag, 'tag');
    await this.image(id);
    const dir = this.labelDir(tag);
    await mkdir(dir, { recursive: true });
    await this.store(dir, id, serializeNifti(label, { gzip: true }));
    return id;
  }

  /** Writes `bytes` as `<dir>/<id>.nii(.gz)` by their gzip magic, removing the other extension's file. */
  private async store(dir: string, id: string, bytes: Uint8Array): Promise<void> {
    const ext = isGzip(bytes) ? '.nii.gz' : '.nii';
    await writeFileAtomic(join(dir, `${id}${ext}`), bytes);
    const other = await this.find(dir, id);
    if (other && other.ext !== ext) await rm(other.path, { force: true });
  }

  /** Every image with its labels by tag (MONAI Label's `GET /datastore/?output=all`). */
  async objects(): Promise<Record<string, DatastoreObject>> {
    const images = await this.list(this.folder);
    const tags = (await readdir(join(this.folder, 'labels'), { withFileTypes: true }).catch(() => []))
      .filter((d) => d.isDirectory() && ID_PATTERN.test(d.name))
      .map((d) => d.name)
      .sort();
    const labelsByTag = new Map<string, Map<string, string>>();
    for (const tag of tags) labelsByTag.set(tag, await this.list(this.labelDir(tag)));
    const objects: Record<string, DatastoreObject> = {};
    for (const [id, ext] of images) {
      const labels: Record<string, StoredFile> = {};
      for (const [tag, stored] of labelsByTag) {
        const labelExt = stored.get(id);
        if (labelExt) labels[tag] = { ext: labelExt, info: {} };
      }
      objects[id] = { image: { ext, info: {} }, labels };
    }
    return objects;
  }

  async status(): Promise<DatastoreStatus> {
    return statusOf(await this.objects());
  }
}
