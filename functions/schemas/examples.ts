/**
 * Example resources of the OpenAPI document, taken from a run of the simulated subject sim01 (2152
 * voxels on a 20x24x20 grid, index sim01-stimuli of 3000 images): what a lab sees, ids and all.
 */
export const EXAMPLE_ORIGIN = "https://mindeye.lab.example.org";
export const EXAMPLE_UPLOAD_ID = "upl_gekccgismu3z457i";
export const EXAMPLE_JOB_ID = "job_k5n2c3vyq6r7m4tb";
const LAB_ID = "lab_jvmmgokrfbcmw5hu";

export const modelExample = {
  id: "sim01",
  family: "mindeye1",
  subject: "sim01",
  version: "1",
  input: {
    voxels: 2152,
    grid: [20, 24, 20],
    mask_url: `${EXAMPLE_ORIGIN}/v1/models/sim01/mask`,
    training: {
      zscore: "session",
      session_trials: 450,
      voxel_mean: 0,
      voxel_std: 1,
      units: "percent signal change, stored x300 as int16",
    },
  },
  outputs: { backbone: { shape: [17, 32] }, retrieval: { shape: [17, 32] } },
  capabilities: {
    embeddings: true,
    retrieval: true,
    reconstruction: true,
    missing_for_reconstruction: [],
  },
  reconstruction_defaults: {
    samples: 16,
    seed: 42,
    decoder_steps: 20,
    guidance_scale: 1,
    img2img_strength: 0.85,
  },
  preprocessing_defaults: { scale: "auto", zscore: { upload: "session", inline: "none" } },
  hashes: {
    "clip_image.onnx": "e756caed2ae75cb227c770d591c50fc9d2c6b71e7e80750220eae6b3b6f690d9",
    "lowlevel.onnx": "2eadbcc7c5b8f8d85cc115db057b753b42e36f2760e4f25b6307f5b8042cf753",
    "mask.npy": "631da5ac3e1a0b158dfcb2ebdba8b95a9db3b7d26054fa4efec852ebe272513a",
    "prior.onnx": "131fb4038d7edca17a43d7e737a8ec12fca7737e0fdca705f6927be284e9899a",
    "unet.onnx": "9be3674fe727da6e2f72ab1003c8b729719d1429a19506918e2f2c73fc64d9cf",
    "vae_decoder.onnx": "62ee51197d23cbb81b1c149a91a7e919b05836dc1309c391324f2181897ac43e",
    "vae_encoder.onnx": "576962fe716357b64e3aee350661a7eaa1851e7d0dc202e196425f849807d478",
    "voxel2clip.onnx": "6810d08ed271fef15f3fef96e8fcdfb9410c41683c70181d7f36a4f396adfec5",
  },
};

const uploadRecord = {
  id: EXAMPLE_UPLOAD_ID,
  filename: "betas_session01.nii.gz",
  size: 3761406,
  created_at: "2025-03-14T09:30:17.807Z",
  expires_at: "2025-03-17T09:30:17.807Z",
};

export const pendingUploadExample = {
  ...uploadRecord,
  status: "pending",
  upload: {
    url: `${EXAMPLE_ORIGIN}/v1/blobs/uploads/${LAB_ID}/${EXAMPLE_UPLOAD_ID}?X-Mindeye-Method=PUT&X-Mindeye-Expires=1741948218&X-Mindeye-Max-Bytes=3761406&X-Mindeye-Content-Type=application%2Fgzip&X-Mindeye-Signature=d19e1bfe661a085a751e26528f80aded93c74770f84832599ba7418bfc535811`,
    method: "PUT",
    headers: { "content-type": "application/gzip" },
    expires_at: "2025-03-14T10:30:18.000Z",
  },
};

/** What complete found in sim01's first session (NSD's int16 NIfTI layout, 450 trials). */
export const readyUploadExample = {
  ...uploadRecord,
  status: "ready",
  format: "nifti1",
  dtype: "<i2",
  shape: [20, 24, 20, 450],
  trials: 450,
  layout: "xyzt",
  dataset: null,
  grid: [20, 24, 20],
  scaling: null,
  stats: { sum: 21857685, mean: 5.059649305555555, min: -7967, max: 8307, nan_count: 0, infinite_count: 0 },
  voxels: 2152,
  model: "sim01",
};

/** The preprocessing echo of trials of that upload with the defaults. */
export const preprocessingAppliedExample = {
  scale: {
    divisor: 300,
    source: "auto",
    reason: "int16 without NIfTI scaling: NSD's percent signal change x300",
  },
  zscore: { kind: "session", trials: 450, zero_variance_voxels: 0 },
  average: null,
  input_trials: 1,
};

/** A search hit of sim01-stimuli as answered: the stored image_key became a signed URL. */
const hit = (id: string, score: number, split: "train" | "test") => ({
  id,
  score,
  payload: {
    stimulus_id: id,
    split,
    image: `${EXAMPLE_ORIGIN}/v1/blobs/indexes/sim01-stimuli/images/${id}.png?X-Mindeye-Method=GET&X-Mindeye-Expires=1741948862&X-Mindeye-Signature=8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d`,
    image_expires_at: "2025-03-14T10:41:02.000Z",
  },
});

/** Trials 0 and 1 of sim01's first session against its 3000 stimuli, k = 3. */
export const retrievalResponseExample = {
  index: "sim01-stimuli",
  model: "sim01",
  results: [
    [hit("s1425", 0.948, "train"), hit("s1956", 0.84, "train"), hit("s0686", 0.833, "train")],
    [hit("s0757", 0.953, "train"), hit("s1346", 0.934, "test"), hit("s2578", 0.927, "train")],
  ],
  preprocessing: { ...preprocessingAppliedExample, input_trials: 2 },
  warnings: [],
};

const jobUrls = {
  get: `${EXAMPLE_ORIGIN}/v1/jobs/${EXAMPLE_JOB_ID}`,
  cancel: `${EXAMPLE_ORIGIN}/v1/jobs/${EXAMPLE_JOB_ID}/cancel`,
  events: `${EXAMPLE_ORIGIN}/v1/jobs/${EXAMPLE_JOB_ID}/events`,
};
const webhook = {
  url: "https://lab.example.org/hooks/mindeye",
  events: ["job.succeeded", "job.failed"],
  disabled_at: null,
};

/** The inputs a job of each kind keeps, as its route stored them. */
const jobInputs: Record<ExampleJobKind, unknown> = {
  embeddings: {
    model: "sim01",
    betas: { upload_id: EXAMPLE_UPLOAD_ID },
    outputs: ["retrieval"],
    lab_id: LAB_ID,
  },
  retrievals: {
    index: "sim01-stimuli",
    k: 10,
    model: "sim01",
    betas: { upload_id: EXAMPLE_UPLOAD_ID },
    lab_id: LAB_ID,
  },
  reconstructions: {
    model: "sim01",
    betas: { upload_id: EXAMPLE_UPLOAD_ID, trials: [0, 1, 2] },
    preprocessing: { average: [[0, 1, 2]] },
    samples: 16,
    seed: 42,
    prior_steps: 100,
    decoder_steps: 20,
    guidance_scale: 1,
    img2img_strength: 0.85,
    outputs: ["best", "candidates", "blurry"],
    lab_id: LAB_ID,
  },
  inspect_upload: { model: "sim01", upload_id: EXAMPLE_UPLOAD_ID, lab_id: LAB_ID },
};
export type ExampleJobKind = "embeddings" | "retrievals" | "reconstructions" | "inspect_upload";

/** A job of `kind` just created: queued, nothing run yet. */
export function queuedJobExample(kind: ExampleJobKind) {
  return {
    id: EXAMPLE_JOB_ID,
    kind,
    status: "queued",
    progress: 0,
    progress_message: null,
    progress_detail: null,
    created_at: "2025-03-14T09:41:02.114Z",
    started_at: null,
    completed_at: null,
    deadline: null,
    cancel_requested: false,
    attempts: 0,
    max_attempts: 3,
    metrics: { queue_time: 0, run_time: null },
    inputs: jobInputs[kind],
    params: {},
    outputs: null,
    error: null,
    webhook,
    urls: kind === "retrievals" ? { ...jobUrls, results: `${jobUrls.get}/results` } : jobUrls,
  };
}

const signedOutput = (name: string, contentType: string, bytes: number) => ({
  url: `${EXAMPLE_ORIGIN}/v1/blobs/outputs/${LAB_ID}/${EXAMPLE_JOB_ID}/${name}?X-Mindeye-Method=GET&X-Mindeye-Expires=1741948865&X-Mindeye-Signature=5b0e3c1f9d2a47e8b6c0f1a2d3e4b5c6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2`,
  expires_at: "2025-03-14T10:41:05.000Z",
  content_type: contentType,
  bytes,
});

/** What a finished job of each kind produced (over sim01's first session). */
const jobOutputs: Record<ExampleJobKind, unknown> = {
  // 450 trials x 17 x 32 float32 and the .npy header.
  embeddings: {
    files: { retrieval: signedOutput("retrieval.npy", "application/x-npy", 979328) },
    trials: 450,
    preprocessing: { ...preprocessingAppliedExample, input_trials: 450 },
    warnings: [],
  },
  retrievals: {
    files: { results: signedOutput("results.json", "application/json", 412933) },
    trials: 450,
    preprocessing: { ...preprocessingAppliedExample, input_trials: 450 },
    warnings: [],
  },
  reconstructions: {
    reconstructions: [
      {
        input: 0,
        best: {
          url: signedOutput("input-0-best.png", "image/png", 0).url,
          width: 512,
          height: 512,
          clip_score: 0.31,
        },
        candidates: [{ url: signedOutput("input-0-candidate-00.png", "image/png", 0).url, clip_score: 0.29 }],
        blurry: { url: signedOutput("input-0-blurry.png", "image/png", 0).url },
        seed: 42,
      },
    ],
    files: {
      "input-0-best.png": signedOutput("input-0-best.png", "image/png", 402117),
      "scores.json": signedOutput("scores.json", "application/json", 311),
    },
  },
  inspect_upload: (({ id: _id, ...summary }) => ({ upload_id: EXAMPLE_UPLOAD_ID, ...summary }))(
    readyUploadExample,
  ),
};

const progressMessages: Record<ExampleJobKind, string | null> = {
  embeddings: "450 of 450 trials embedded",
  retrievals: "450 of 450 trials embedded",
  reconstructions: "input 0 (of 1) select",
  inspect_upload: null,
};

const progressDetails: Record<ExampleJobKind, Record<string, unknown> | null> = {
  embeddings: null,
  retrievals: null,
  reconstructions: { input: 0, inputs: 1, stage: "select", step: 1, steps: 1, inputs_done: 1 },
  inspect_upload: null,
};

/** A job of `kind` that has succeeded. */
export function finishedJobExample(kind: ExampleJobKind) {
  return {
    ...queuedJobExample(kind),
    status: "succeeded",
    progress: 1,
    progress_message: progressMessages[kind],
    progress_detail: progressDetails[kind],
    started_at: "2025-03-14T09:41:02.310Z",
    completed_at: "2025-03-14T09:41:05.902Z",
    attempts: 1,
    metrics: { queue_time: 0.196, run_time: 3.592 },
    outputs: jobOutputs[kind],
  };
}
