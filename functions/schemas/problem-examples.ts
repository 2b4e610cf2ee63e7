import { ApiError, type ErrorCode, problemOf } from "../../core/contracts/errors.ts";

/**
 * One realistic problem per error code, for the OpenAPI document's error examples: the details are the
 * service's own, for the simulated subject sim01 (2152 voxels on a 20x24x20 grid). Typed over every code,
 * so a new code cannot be added without its example.
 */
const EXAMPLES: Record<ErrorCode, { detail: string; fields?: Record<string, unknown> }> = {
  invalid_request: {
    detail: "body: unknown field k; the fields are model, betas, preprocessing, outputs, encoding, webhook",
    fields: {
      errors: [
        {
          path: "body",
          message: "unknown field k; the fields are model, betas, preprocessing, outputs, encoding, webhook",
        },
      ],
    },
  },
  unauthorized: { detail: "Send your API key as `Authorization: Bearer mk_...`." },
  forbidden: { detail: "This API key may not do that; use a key of the lab that owns the resource." },
  invalid_signature: { detail: "This URL expired at 2025-03-14T10:32:00.000Z; request a new one." },
  not_found: {
    detail: "No job job_k5n2c3vyq6r7m4tb in your lab. Check the id returned when you created it.",
  },
  method_not_allowed: { detail: "Method Not Allowed" },
  conflict: {
    detail:
      "Job job_k5n2c3vyq6r7m4tb is running; cancel it (POST /v1/jobs/job_k5n2c3vyq6r7m4tb/cancel) and delete it once it has stopped.",
    fields: { status: "running" },
  },
  payload_too_large: {
    detail:
      "The body is over 33554432 bytes. Upload large sessions (POST /v1/uploads) and send their upload_id.",
    fields: { limit_bytes: 33554432 },
  },
  sync_limit_exceeded: {
    detail:
      "This request has 750 trials; synchronous requests take at most 64. Send it with `Prefer: respond-async` to run it as a job, or select fewer trials.",
    fields: { limit_trials: 64, trials: 750 },
  },
  unsupported_media_type: {
    detail:
      'This route takes application/json (an EmbeddingRequest) or application/x-npy (an .npy of [trials, voxels] with ?model=); the request\'s Content-Type is "text/plain".',
    fields: { accepted_content_types: ["application/json", "application/x-npy"] },
  },
  idempotency_key_reused: {
    detail: "This Idempotency-Key was used with a different request. Use a new key for a new request.",
  },
  idempotency_key_in_use: {
    detail: "A request with this Idempotency-Key is still being processed. Retry after it completes.",
  },
  unsupported_format: {
    detail:
      "This is a MINC2 file. MINC stores per-slice scaling that a plain HDF5 read would ignore; convert it to NIfTI (mnc2nii, or nibabel.save(nibabel.load(path), 'betas.nii.gz')) and send that.",
  },
  invalid_file: {
    detail:
      "The file has no dataset 'betas'. Datasets: /data/betas_raw, /data/design. Pass the one holding the betas as dataset.",
  },
  truncated_file: { detail: "The file ends before its data starts (vox_offset). Upload the complete file." },
  file_too_large: {
    detail:
      "This JSON file is 41943040 bytes. JSON suits a few trials; send more as .npy (float32 [trials, voxels]).",
  },
  decompression_bomb: {
    detail:
      "The file decompresses past the 268435456-byte limit. Send a smaller file (fewer trials, or betas already masked to the model's voxels).",
  },
  voxel_count_mismatch: {
    detail:
      "Model sim01 takes 2152 voxels per trial; got 2151. Mask your volume with GET /v1/models/sim01/mask (numpy C order over x, y, z), or upload the whole volume.",
    fields: { expected_voxels: 2152, got_voxels: 2151 },
  },
  betas_transposed: {
    detail:
      "These betas are [2152, 3]: 2152 is model sim01's voxel count, so they look like [voxels, trials]. Send [trials, voxels] (numpy: betas.T, C order).",
    fields: { expected: ["trials", 2152], got: [2152, 3] },
  },
  grid_mismatch: {
    detail:
      "The volume grid is (81, 104, 83) (layout 'xyzt', shape (81, 104, 83, 750)); this model's is (20, 24, 20), the subject's func1pt8mm space. Resample the betas to that space.",
    fields: { expected_grid: [20, 24, 20], received_grid: [81, 104, 83] },
  },
  non_finite_values: {
    detail:
      "The betas hold 12 NaN or infinite values; the first is trial 4, voxel 1031. Replace them (e.g. np.nan_to_num) or drop those trials.",
    fields: { non_finite_count: 12, first_index: [4, 1031] },
  },
  invalid_preprocessing: {
    detail:
      'zscore "session" on inline betas uses the sent rows as the session, and 3 rows are too few (at least 50; NSD sessions have 750). Upload the whole session and send {"upload_id", "trials"} (its statistics then come from every trial), or send zscore {"mean", "std"}.',
    fields: { rows: 3, min_rows: 50 },
  },
  upload_not_ready: {
    detail:
      "Upload upl_7q2m9x4k1c3vb5nd is not complete: PUT the file, then POST /v1/uploads/upl_7q2m9x4k1c3vb5nd/complete.",
  },
  model_not_found: { detail: "There is no model sim02. Models served here: sim01." },
  index_not_found: { detail: 'There is no index named "laion-5b". GET /v1/indexes lists them.' },
  invalid_bundle: { detail: "The model's mask selects 2150 voxels, not 2152." },
  invalid_vector: {
    detail:
      "Index sim01-stimuli holds 544-d vectors; the queries are 768-d. Use a model whose retrieval space matches the index (GET /v1/models, GET /v1/indexes).",
    fields: { index_dim: 544, query_dim: 768 },
  },
  webhook_url_refused: { detail: "Webhook URLs must use https; got http:." },
  deadline_exceeded: {
    detail:
      "The job was still running at its deadline (2025-03-14T10:11:02.114Z). Submit it again with a later deadline (deadline_seconds), or fewer inputs.",
  },
  job_not_cancelable: {
    detail: "Job job_k5n2c3vyq6r7m4tb already succeeded; only queued or running jobs can be canceled.",
    fields: { status: "succeeded" },
  },
  model_cannot_reconstruct: {
    detail:
      "Model mindeye1-subj01 cannot reconstruct images: its bundle has no prior, lowlevel, vae_encoder, unet, vae_decoder graph. Choose a model whose capabilities.reconstruction is true (GET /v1/models), or use /v1/embeddings and /v1/retrievals with this one.",
    fields: {
      model: "mindeye1-subj01",
      missing_graphs: ["prior", "lowlevel", "vae_encoder", "unet", "vae_decoder"],
    },
  },
  rate_limited: {
    detail:
      "This lab sent more than 20 requests per second (bursts up to 100). Retry after 1 s, and pace requests or batch trials into fewer calls.",
    fields: { retry_after_seconds: 1 },
  },
  overloaded: { detail: "The model's queue is full. Retry after a second, or send fewer requests at once." },
  not_ready: { detail: "The models are still loading. Retry in a few seconds." },
  upstream_unavailable: { detail: "Qdrant did not complete the search: connect ECONNREFUSED 10.0.3.17:6333" },
  internal_error: { detail: "Something failed on our side. Retry later, quoting the request_id." },
};

/** The problem a client receives for `code`, as `problemOf` renders it. */
export const problemExample = (code: ErrorCode) =>
  problemOf(
    new ApiError(code, EXAMPLES[code].detail, { fields: EXAMPLES[code].fields }),
    "req_4zot3gwtpjuxkbui",
  );
