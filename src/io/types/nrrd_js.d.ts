// Typed surface of nrrd-js 0.2.1 (untyped CommonJS), the NRRD parser OHIF's MONAI Label extension reads
// results with; tests use it to check that what masam writes is what OHIF reads. Only what tests use.
declare module 'nrrd-js' {
  namespace nrrd {
    /** A parsed file: header fields in camelCase (values normalized, e.g. type 'uint8', space long form). */
    interface NrrdFile {
      version: number;
      type: string;
      encoding: string;
      dimension: number;
      sizes: number[];
      endian?: string;
      space?: string;
      spaceDimension?: number;
      /** One vector per axis, null for an axis without one ('none'). */
      spaceDirections?: (number[] | null)[];
      spaceOrigin?: number[];
      kinds?: (string | null)[];
      /** Key/value pairs (`key:=value`). */
      keys: Record<string, string>;
      /** The decoded values (raw and ascii encodings; undefined for others, such as gzip). */
      data?:
        | Int8Array
        | Uint8Array
        | Int16Array
        | Uint16Array
        | Int32Array
        | Uint32Array
        | Float32Array
        | Float64Array;
      /** The bytes after the header (parse throws when there are none, unless a detached `data file` is named). */
      buffer: ArrayBuffer;
    }
    /** Parses a whole file (header and attached data); throws a plain Error on a malformed header. */
    function parse(bytes: ArrayBuffer | Uint8Array): NrrdFile;
  }
  export = nrrd;
}
