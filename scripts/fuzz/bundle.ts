// Several files as one fuzz input (a DICOM series is many files): u32 count, then per file a u32 length
// and its bytes, little-endian. Findings save the bundle, so a series finding replays as one file.

/** Packs `files` into one buffer. */
export function packBundle(files: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(4 + files.reduce((n, f) => n + 4 + f.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, files.length, true);
  let at = 4;
  for (const f of files) {
    view.setUint32(at, f.length, true);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}

/** The files of a bundle made by packBundle (views into `bytes`). */
export function unpackBundle(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const files: Uint8Array[] = [];
  let at = 4;
  for (let i = view.getUint32(0, true); i > 0; i--) {
    const n = view.getUint32(at, true);
    files.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return files;
}
