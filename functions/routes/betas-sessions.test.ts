import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNpy } from "../../core/npy/index.ts";
import { createHarness, type Harness, TINY_MODEL } from "../../test/helpers/harness.ts";

// Sessions as NSD's look to the model: each voxel has its own baseline and gain per session, so a
// session's statistics differ from another's and from the pooled ones.
const VOXELS = 40;
const TRIALS = 64;

let h: Harness;
let key: string;

function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

/** [trials, voxels] of one session: offset[v] + gain[v] * signal, in percent signal change. */
function session(seed: number, offset: number, gain: number): Float32Array {
  const next = random(seed);
  const offsets = Array.from({ length: VOXELS }, () => offset + 4 * next());
  const gains = Array.from({ length: VOXELS }, () => gain * (1 + next()));
  const data = new Float32Array(TRIALS * VOXELS);
  for (let t = 0; t < TRIALS; t++)
    for (let v = 0; v < VOXELS; v++) data[t * VOXELS + v] = offsets[v]! + gains[v]! * 3 * next();
  return data;
}

/** Per-voxel mean and population std over all rows, in float64. */
function statistics(data: Float32Array, rows: number) {
  const mean = new Array<number>(VOXELS).fill(0);
  const std = new Array<number>(VOXELS).fill(0);
  for (let t = 0; t < rows; t++) for (let v = 0; v < VOXELS; v++) mean[v]! += data[t * VOXELS + v]! / rows;
  for (let t = 0; t < rows; t++)
    for (let v = 0; v < VOXELS; v++) std[v]! += (data[t * VOXELS + v]! - mean[v]!) ** 2 / rows;
  return { mean, std: std.map(Math.sqrt) };
}

const rowOf = (data: Float32Array, t: number) => Array.from(data.subarray(t * VOXELS, (t + 1) * VOXELS));
const zscored = (row: number[], stats: { mean: number[]; std: number[] }) =>
  row.map((x, v) => (x - stats.mean[v]!) / stats.std[v]!);

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  h.request(path, {
    method: "POST",
    key,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

async function upload(data: Float32Array, rows: number, complete: object = {}): Promise<string> {
  const bytes = encodeNpy(data, [rows, VOXELS]);
  const created = await post("/v1/uploads", { filename: "session.npy", size: bytes.byteLength });
  const { id, upload: presigned } = (await created.json()) as { id: string; upload: { url: string } };
  await h.app.request(presigned.url, { method: "PUT", body: bytes });
  const done = await post(`/v1/uploads/${id}/complete`, complete);
  expect(done.status).toBe(200);
  return id;
}

type EmbedBody = {
  trials: number;
  outputs: { retrieval: { values: number[][][] } };
  preprocessing: Record<string, unknown> & { zscore: Record<string, unknown> };
  warnings: { code: string; detail: string }[];
};

async function embed(betas: unknown, preprocessing?: unknown): Promise<EmbedBody> {
  const res = await post("/v1/embeddings", { model: TINY_MODEL, betas, preprocessing });
  expect(res.status).toBe(200);
  return (await res.json()) as EmbedBody;
}

const rowsOf = (body: EmbedBody) => body.outputs.retrieval.values.map((tokens) => tokens.flat());
const maxAbsDiff = (a: number[], b: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

const sessionA = session(1, 10, 1);
const sessionB = session(2, -6, 2.5);
let uploadA: string;
let uploadAWithModel: string;
let uploadB: string;
let uploadPooled: string;

beforeAll(async () => {
  h = await createHarness();
  key = await h.keyFor("lab-sessions");
  // A: statistics computed on first use; its twin: at complete (a model is named).
  uploadA = await upload(sessionA, TRIALS);
  uploadAWithModel = await upload(sessionA, TRIALS, { model: TINY_MODEL });
  uploadB = await upload(sessionB, TRIALS);
  const pooled = new Float32Array(2 * TRIALS * VOXELS);
  pooled.set(sessionA);
  pooled.set(sessionB, TRIALS * VOXELS);
  uploadPooled = await upload(pooled, 2 * TRIALS);
});
afterAll(() => h.close());

describe("zscore session: statistics of the whole upload", () => {
  it("gives the same trial the same embedding alone, in a subset and with the whole session", async () => {
    const alone = rowsOf(await embed({ upload_id: uploadA, trials: [7] }))[0]!;
    const subset = await embed({ upload_id: uploadA, trials: [3, 7, 11] });
    const whole = await embed({ upload_id: uploadA });
    const atComplete = rowsOf(await embed({ upload_id: uploadAWithModel, trials: [7] }))[0]!;
    expect(maxAbsDiff(rowsOf(subset)[1]!, alone)).toBeLessThan(1e-5);
    expect(maxAbsDiff(rowsOf(whole)[7]!, alone)).toBeLessThan(1e-5);
    expect(maxAbsDiff(atComplete, alone)).toBeLessThan(1e-5);
    // The statistics are the session's, echoed as such, and equal to z-scoring by hand.
    expect(subset.preprocessing.zscore).toMatchObject({ kind: "session", trials: TRIALS });
    const byHand = await embed(
      { values: [zscored(rowOf(sessionA, 7), statistics(sessionA, TRIALS))] },
      { zscore: "none" },
    );
    expect(maxAbsDiff(rowsOf(byHand)[0]!, alone)).toBeLessThan(1e-5);
    // Control: the old behaviour (statistics over the requested rows) gives a different answer.
    const overSubset = statistics(Float32Array.from([3, 7, 11].flatMap((t) => rowOf(sessionA, t))), 3);
    const wrong = await embed({ values: [zscored(rowOf(sessionA, 7), overSubset)] }, { zscore: "none" });
    expect(maxAbsDiff(rowsOf(wrong)[0]!, alone)).toBeGreaterThan(1e-2);
  });

  it("keeps the statistics with the upload, and completing it again drops them", async () => {
    const kept = await h.db.query<{ trials: number }>(
      "select trials from upload_session_stats where upload_id = $1",
      [uploadA],
    );
    expect(kept).toEqual([{ trials: TRIALS }]);
    const again = await upload(sessionB, TRIALS);
    await embed({ upload_id: again, trials: [0] });
    expect((await post(`/v1/uploads/${again}/complete`, {})).status).toBe(200);
    const after = await h.db.query("select 1 from upload_session_stats where upload_id = $1", [again]);
    expect(after).toEqual([]);
  });
});

describe("betas.sessions: several sessions, each with its own statistics", () => {
  it("z-scores each session by itself, concatenates in order, and averages across them", async () => {
    const both = await embed({
      sessions: [
        { upload_id: uploadA, trials: [5, 9] },
        { upload_id: uploadB, trials: [5] },
      ],
    });
    const aAlone = rowsOf(await embed({ upload_id: uploadA, trials: [5, 9] }));
    const bAlone = rowsOf(await embed({ upload_id: uploadB, trials: [5] }));
    expect(both.trials).toBe(3);
    expect(maxAbsDiff(rowsOf(both)[0]!, aAlone[0]!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(rowsOf(both)[1]!, aAlone[1]!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(rowsOf(both)[2]!, bAlone[0]!)).toBeLessThan(1e-5);
    expect(both.preprocessing.zscore).toMatchObject({
      kind: "session",
      trials: 2 * TRIALS,
      sessions: [
        { upload_id: uploadA, trials: TRIALS },
        { upload_id: uploadB, trials: TRIALS },
      ],
    });

    // Pooling the two sessions' statistics (one concatenated upload) gives other rows.
    const pooled = rowsOf(await embed({ upload_id: uploadPooled, trials: [5, TRIALS + 5] }));
    expect(maxAbsDiff(pooled[0]!, aAlone[0]!)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(pooled[1]!, bAlone[0]!)).toBeGreaterThan(1e-2);

    // Repeats across sessions: average groups index the concatenated rows, after each session's z-scoring.
    const averaged = await embed(
      {
        sessions: [
          { upload_id: uploadA, trials: [5] },
          { upload_id: uploadB, trials: [5] },
        ],
      },
      { average: [[0, 1]] },
    );
    const a = zscored(rowOf(sessionA, 5), statistics(sessionA, TRIALS));
    const b = zscored(rowOf(sessionB, 5), statistics(sessionB, TRIALS));
    const byHand = await embed({ values: [a.map((x, v) => (x + b[v]!) / 2)] }, { zscore: "none" });
    expect(averaged.trials).toBe(1);
    expect(maxAbsDiff(rowsOf(averaged)[0]!, rowsOf(byHand)[0]!)).toBeLessThan(1e-5);
  });

  it("checks every session before reading any: a trial out of range names its upload", async () => {
    const res = await post("/v1/embeddings", {
      model: TINY_MODEL,
      betas: { sessions: [{ upload_id: uploadA }, { upload_id: uploadB, trials: [TRIALS] }] },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toContain(uploadB);
  });
});

describe("no silent wrong input", () => {
  const inline = (rows: number[][], extra: object = {}) =>
    post("/v1/embeddings", { model: TINY_MODEL, betas: { values: rows }, ...extra });

  it("refuses one trial with 200,000 average groups, before allocating for them", async () => {
    const groups = Array.from({ length: 200_000 }, () => [0]);
    const res = await inline([rowOf(sessionA, 0)], { preprocessing: { zscore: "none", average: groups } });
    expect(res.status).toBe(422);
    expect((await res.json()) as object).toMatchObject({
      code: "invalid_preprocessing",
      detail: expect.stringContaining("at most 1 groups"),
    });
    const twice = await inline([rowOf(sessionA, 0), rowOf(sessionA, 1)], {
      preprocessing: { zscore: "none", average: [[0, 1, 1]] },
    });
    expect(twice.status).toBe(422);
  });

  it("refuses a [voxels, trials] array with betas_transposed, also when asked to run as a job", async () => {
    const transposed = Array.from({ length: VOXELS }, (_, v) =>
      [0, 1, 2].map((t) => sessionA[t * VOXELS + v]!),
    );
    for (const prefer of [{}, { prefer: "respond-async" }] as Record<string, string>[]) {
      const res = await post("/v1/embeddings", { model: TINY_MODEL, betas: { values: transposed } }, prefer);
      expect(res.status).toBe(422);
      expect((await res.json()) as object).toMatchObject({
        code: "betas_transposed",
        detail: expect.stringContaining("[trials, voxels]"),
      });
    }
    const jobs = (await (await h.request("/v1/jobs", { key })).json()) as { data: unknown[] };
    expect(jobs.data).toEqual([]);
  });

  it("names an unknown field and the field meant, in every body", async () => {
    const typo = await inline([rowOf(sessionA, 0)], { preprocesing: { zscore: "session" } });
    expect(typo.status).toBe(400);
    expect(((await typo.json()) as { detail: string }).detail).toContain("did you mean preprocessing?");

    const topK = await post("/v1/retrievals", {
      index: "none",
      embedding: { values: [1, 2] },
      top_k: 3,
    });
    expect(topK.status).toBe(400);
    expect(((await topK.json()) as { detail: string }).detail).toContain("top_k (did you mean k?)");

    const nested = await post("/v1/embeddings", {
      model: TINY_MODEL,
      betas: { upload_id: uploadA, trial: [1] },
    });
    expect(nested.status).toBe(400);
    const nestedBody = (await nested.json()) as { detail: string };
    expect(nestedBody.detail).toContain("body.betas: unknown field trial (did you mean trials?)");
    const neither = await post("/v1/embeddings", { model: TINY_MODEL, betas: { upload: uploadA } });
    expect(neither.status).toBe(400);
    const neitherBody = (await neither.json()) as { detail: string };
    for (const form of ["betas is one of", '"values"', '"upload_id"', '"sessions"'])
      expect(neitherBody.detail).toContain(form);

    const upload = await post("/v1/uploads", { filename: "a.npy", size: 10, contentType: "x" });
    expect(upload.status).toBe(400);
    expect(((await upload.json()) as { detail: string }).detail).toContain("did you mean content_type?");
  });

  it("warns about raw x300 values sent as they are, and not about z-scored ones", async () => {
    const raw = Array.from({ length: 3 }, (_, t) => rowOf(sessionA, t).map((x) => Math.round(300 * x)));
    const res = await inline(raw);
    expect(res.status).toBe(200);
    const { warnings } = (await res.json()) as EmbedBody;
    expect(warnings.map((w) => w.code).sort()).toEqual(["input_scale", "not_zscored"]);
    expect(warnings.find((w) => w.code === "input_scale")!.detail).toContain("x300");

    const stats = statistics(sessionA, TRIALS);
    const clean = await embed(
      { values: [0, 1, 2].map((t) => zscored(rowOf(sessionA, t), stats)) },
      { zscore: "none" },
    );
    expect(clean.warnings).toEqual([]);
    // An upload is z-scored with its session's statistics; only the session's small size is noted.
    const uploaded = await embed({ upload_id: uploadA, trials: [0, 1, 2] });
    expect(uploaded.warnings.map((w) => w.code)).toEqual(["few_trials_zscore"]);
  });

  it("refuses inline session z-scoring over too few rows, saying what to send", async () => {
    const res = await inline([rowOf(sessionA, 0), rowOf(sessionA, 1)], {
      preprocessing: { zscore: "session" },
    });
    expect(res.status).toBe(422);
    const { detail } = (await res.json()) as { detail: string };
    expect(detail).toContain("Upload the whole session");
    expect(detail).toContain('{"mean", "std"}');
  });

  it("takes an .npy body's preprocessing as query parameters, and refuses unknown ones", async () => {
    const npy = (query: string, rows = 60) =>
      h.request(`/v1/embeddings?model=${TINY_MODEL}${query}`, {
        method: "POST",
        key,
        headers: { "content-type": "application/x-npy" },
        body: encodeNpy(sessionA.subarray(0, rows * VOXELS), [rows, VOXELS]),
      });
    const res = await npy("&zscore=session&average=0,1,2;3,4");
    expect(res.status).toBe(200);
    const body = (await res.json()) as EmbedBody;
    expect(body.trials).toBe(2);
    expect(body.preprocessing).toMatchObject({
      zscore: { kind: "session", trials: 60 },
      average: { groups: 2 },
    });
    const typo = await npy("&zscor=session");
    expect(typo.status).toBe(400);
    expect(((await typo.json()) as { detail: string }).detail).toContain("did you mean zscore?");
    expect((await npy("&zscore=sesion")).status).toBe(400);
  });

  it("answers 415 naming the content types to send", async () => {
    const res = await h.request("/v1/embeddings", {
      method: "POST",
      key,
      headers: { "content-type": "text/csv" },
      body: "1,2,3",
    });
    expect(res.status).toBe(415);
    const { detail } = (await res.json()) as { detail: string };
    expect(detail).toContain("application/json");
    expect(detail).toContain("application/x-npy");
  });
});
