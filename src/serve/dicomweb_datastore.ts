// The datastore of `masam serve --studies <DICOMweb URL>`: the images are the series of a PACS, listed
// through QIDO-RS and read through WADO-RS, each named by its SeriesInstanceUID (a UID is a valid id: digits
// and dots). A result stored with output=dicom_seg goes back through STOW-RS as a DICOM-SEG of its series
// (io/dicom_seg.ts, as `masam segment --output x.dcm` writes), in the same study; the listing shows each
// image's SEGs, found through their ReferencedSeriesSequence, under the tag 'original' (MONAI Label's tag
// for a model's result, as opposed to 'final', a label a user saved). Uploading images or labels is not
// done here: a PACS takes DICOM from its own senders.
import type { DicomSeriesInfo } from '../io/dicom_seg.js';
import { serializeDicomSeg } from '../io/dicom_seg.js';
import { serializeNifti } from '../io/nifti.js';
import type { Volume } from '../io/volume.js';
import {
  type Datastore,
  type DatastoreObject,
  type DatastoreStatus,
  FINAL_TAG,
  checkId,
} from './datastore.js';
import { type DicomJson, DicomWebClient, TAG, jsonItems, jsonString } from './dicomweb_client.js';
import { ServeError } from './serve_error.js';

/** The tag of the SEGs the server stored (a model's result). */
export const RESULT_TAG = 'original';
const SEG_MODALITY = 'SEG';
/** Series read recently, kept for the SEG writer (a result is stored right after its series was read). */
const KEPT_SERIES = 8;

export interface StoredSeg {
  readonly bytes: Uint8Array;
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
}

export class DicomWebDatastore implements Datastore {
  readonly client: DicomWebClient;
  private readonly kept = new Map<string, DicomSeriesInfo>();

  constructor(
    baseUrl: string,
    /** Shown in the SEG's SoftwareVersions. */
    private readonly softwareVersion: string,
  ) {
    this.client = new DicomWebClient(baseUrl);
  }

  /** The QIDO-RS entry of series `id`. @throws ServeError 404 when the server has no such series */
  private async series(id: string): Promise<DicomJson> {
    checkId(id, 'image');
    const [found] = await this.client.searchSeries({ SeriesInstanceUID: id }, [
      TAG.NumberOfSeriesRelatedInstances,
    ]);
    if (!found || jsonString(found, TAG.StudyInstanceUID) === undefined)
      throw new ServeError(404, `image '${id}': no such series on ${this.client.baseUrl}`);
    return found;
  }

  async imageKey(id: string): Promise<string> {
    const s = await this.series(id);
    // A series that gains instances is a new image for the segmenter cache.
    return `dicomweb:${id}:${jsonString(s, TAG.NumberOfSeriesRelatedInstances) ?? '?'}`;
  }

  async readImage(id: string): Promise<Volume> {
    const study = jsonString(await this.series(id), TAG.StudyInstanceUID)!;
    const instances = await this.client.retrieveSeries(study, id);
    const dicom = await import('../io/dicom.js'); // codecs load only when DICOM is read
    const source = `${this.client.baseUrl} series ${id}`;
    const slices = [];
    for (const [i, bytes] of instances.entries())
      slices.push(await dicom.parseDicomAsync(bytes, `${source} instance ${i + 1}`));
    const volume = dicom.dicomSeriesToVolume(slices, source);
    if (volume.source?.dicom) {
      this.kept.delete(id);
      this.kept.set(id, volume.source.dicom);
      if (this.kept.size > KEPT_SERIES) this.kept.delete(this.kept.keys().next().value!);
    }
    return volume;
  }

  async imageFile(id: string): Promise<{ name: string; bytes: Uint8Array }> {
    return { name: `${id}.nii.gz`, bytes: serializeNifti(await this.readImage(id), { gzip: true }) };
  }

  async labelFile(id: string, tag: string): Promise<{ name: string; bytes: Uint8Array }> {
    throw new ServeError(
      404,
      `image '${id}': labels are DICOM-SEG series in the PACS; fetch tag '${tag}' from there`,
    );
  }

  async addImage(id: string): Promise<string> {
    throw new ServeError(
      405,
      `image '${id}': a DICOMweb datastore takes no uploads; send the series to the PACS`,
    );
  }

  async saveLabel(id: string): Promise<string> {
    throw new ServeError(405, `label of '${id}': saving labels to a DICOMweb datastore is not supported`);
  }

  /** Every non-SEG series, with the SEGs that reference it under RESULT_TAG. */
  async objects(): Promise<Record<string, DatastoreObject>> {
    const all = await this.client.searchSeries({}, [TAG.Modality]);
    const segmented = new Set<string>();
    for (const s of all.filter((x) => jsonString(x, TAG.Modality) === SEG_MODALITY)) {
      const [study, series] = [jsonString(s, TAG.StudyInstanceUID), jsonString(s, TAG.SeriesInstanceUID)];
      if (!study || !series) continue;
      for (const instance of await this.client.seriesMetadata(study, series))
        for (const ref of jsonItems(instance, TAG.ReferencedSeriesSequence)) {
          const uid = jsonString(ref, TAG.SeriesInstanceUID);
          if (uid) segmented.add(uid);
        }
    }
    const objects: Record<string, DatastoreObject> = {};
    for (const s of all) {
      const id = jsonString(s, TAG.SeriesInstanceUID);
      if (!id || jsonString(s, TAG.Modality) === SEG_MODALITY) continue;
      const info = {
        StudyInstanceUID: jsonString(s, TAG.StudyInstanceUID),
        Modality: jsonString(s, TAG.Modality),
        SeriesDescription: jsonString(s, TAG.SeriesDescription),
      };
      objects[id] = {
        image: { ext: '.dcm', info },
        labels: segmented.has(id) ? { [RESULT_TAG]: { ext: '.dcm', info: {} } } : {},
      };
    }
    return objects;
  }

  async status(): Promise<DatastoreStatus> {
    const objects = Object.values(await this.objects());
    const withResult = objects.filter((o) => o.labels[RESULT_TAG]).length;
    return {
      total: objects.length,
      completed: objects.filter((o) => o.labels[FINAL_TAG]).length,
      label_tags: withResult > 0 ? { [RESULT_TAG]: withResult } : {},
    };
  }

  /**
   * Writes `labels` (on series `id`'s grid) as a DICOM-SEG of that series and stores it through STOW-RS.
   * @throws ServeError 400 when the writer refuses the labels, 502 when the PACS refuses the SEG
   */
  async storeSeg(
    id: string,
    labels: Volume,
    classNames: readonly string[],
    model: string,
  ): Promise<StoredSeg> {
    if (!this.kept.has(id)) await this.readImage(id); // the segmenter was cached: read the series again
    const series = this.kept.get(id)!;
    let seg: ReturnType<typeof serializeDicomSeg>;
    try {
      seg = serializeDicomSeg(labels, series, {
        classNames,
        name: `DICOM-SEG of series ${id}`,
        seriesDescription: `masam ${model}`,
        softwareVersion: `masam ${this.softwareVersion}`,
      });
    } catch (err) {
      throw new ServeError(400, (err as Error).message);
    }
    await this.client.store([seg.bytes]);
    return {
      bytes: seg.bytes,
      studyInstanceUID: series.studyInstanceUID ?? '',
      seriesInstanceUID: seg.seriesInstanceUID,
      sopInstanceUID: seg.sopInstanceUID,
    };
  }
}
