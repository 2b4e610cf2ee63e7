import { decodeNpyBody } from "../betas/index.ts";
import { inspectUpload, readUploadArray, readUploadBetas } from "./read-upload.ts";

/**
 * Reading betas files: an upload (through a local copy of its blob, with h5wasm, yauzl, zlib) and an .npy
 * request body. Node-only today, so it is a service handed to the app: functions/ imports only this type
 * (functions/web-only.test.ts checks), and the Node entry points pass `nodeBetasReader`.
 */
export interface BetasReader {
  inspectUpload: typeof inspectUpload;
  readUploadBetas: typeof readUploadBetas;
  readUploadArray: typeof readUploadArray;
  decodeNpyBody: typeof decodeNpyBody;
}

export const nodeBetasReader: BetasReader = {
  inspectUpload,
  readUploadBetas,
  readUploadArray,
  decodeNpyBody,
};
