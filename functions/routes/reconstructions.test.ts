/**
 * POST /v1/reconstructions as a lab calls it (test-support/reconstruction-harness.ts): the job, its
 * outputs' exact shape and files, determinism, idempotency, tenancy, refusals, OpenAPI. Progress, cancel,
 * deadlines, previews and partial outputs: reconstruction-progress.test.ts.
 */
import sharp from "sharp";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EMBED_ONLY,
  type Job,
  MODEL,
  type ReconstructionHarness,
  startReconstructionHarness,
  voxelRows,
  waitFor,
} from "./test-support/reconstruction-harness.ts";

let r: ReconstructionHarness;
beforeAll(async () => {
  r = await startReconstructionHarness();
});
afterAll(async () => {
  await r.close();
});

describe("POST /v1/reconstructions", () => {
  it("queues a job (202), announces it by a verifiable webhook, and writes PNGs that decode", async () => {
    const res = await r.post({
      model: MODEL,
      betas: { values: voxelRows(2) },
      samples: 4,
      webhook: { url: r.receiver.url, events: ["job.succeeded"] },
    });
    expect(res.status).toBe(202);
    const created = (await res.json()) as Job;
    expect(created.status).toBe("queued");

    const hook = await waitFor("job.succeeded", async () =>
      r.receiver.received.find((w) => w.type === "job.succeeded" && w.body.includes(created.id)),
    );
    const secret = await r.webhookSecret();
    const event = new Webhook(secret).verify(hook.body, hook.headers) as { data: { id: string } };
    expect(event.data.id).toBe(created.id);
    // A body altered in transit does not verify.
    expect(() => new Webhook(secret).verify(hook.body.replace(created.id, "job_x"), hook.headers)).toThrow();

    const { job } = await r.getJob(created.id);
    expect(job.status).toBe("succeeded");
    const recs = job.outputs!.reconstructions;
    expect(recs.map((rec) => rec.input)).toEqual([0, 1]);
    for (const rec of recs) {
      // Exactly the architecture's wire shape: nothing missing, no stored file names or keys.
      expect(Object.keys(rec).sort()).toEqual(["best", "blurry", "candidates", "input", "seed"]);
      expect(Object.keys(rec.best!).sort()).toEqual(["clip_score", "height", "url", "width"]);
      for (const c of rec.candidates!) expect(Object.keys(c).sort()).toEqual(["clip_score", "url"]);
      expect(Object.keys(rec.blurry!)).toEqual(["url"]);
      expect(rec.seed).toBe(42);
      expect(rec.candidates).toHaveLength(4);
      const scores = rec.candidates!.map((c) => c.clip_score!);
      // The best is the candidate with the highest CLIP score, and the same picture.
      expect(rec.best!.clip_score).toBe(Math.max(...scores));
      const bestBytes = await r.download(rec.best!.url);
      const winner = rec.candidates![scores.indexOf(Math.max(...scores))]!;
      expect(bestBytes.equals(await r.download(winner.url))).toBe(true);
      const { info } = await sharp(bestBytes).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([16, 16, 3]);
      expect([rec.best!.width, rec.best!.height]).toEqual([16, 16]);
      const blurry = await sharp(await r.download(rec.blurry!.url)).metadata();
      expect([blurry.width, blurry.height]).toEqual([16, 16]);
    }
    // Different inputs give different pictures.
    const [a, b] = await Promise.all(recs.map((rec) => r.download(rec.best!.url)));
    expect(a!.equals(b!)).toBe(false);
    // scores.json holds every input's scores and its best, as the outputs give them.
    const scores = JSON.parse((await r.download(job.outputs!.files["scores.json"]!.url)).toString()) as {
      input: number;
      seed: number;
      best: number;
      clip_scores: number[];
    }[];
    expect(scores.map((s) => s.input)).toEqual([0, 1]);
    for (const [i, rec] of recs.entries()) {
      const s = scores[i]!;
      expect(s.clip_scores).toEqual(rec.candidates!.map((c) => c.clip_score));
      expect(s.clip_scores[s.best]).toBe(rec.best!.clip_score);
      expect(s.seed).toBe(42);
    }
  });

  it("gives identical bytes for the same seed and different ones for another seed", async () => {
    const run = async (seed: number) => {
      const res = await r.post(
        { model: MODEL, betas: { values: voxelRows(1, 5) }, samples: 3, seed, outputs: ["best"] },
        { prefer: "wait=30" },
      );
      expect(res.status).toBe(200);
      const job = (await res.json()) as Job;
      expect(job.status).toBe("succeeded");
      const rec = job.outputs!.reconstructions[0]!;
      expect(rec.candidates).toBeUndefined();
      expect(rec.blurry).toBeUndefined();
      return r.download(rec.best!.url);
    };
    const first = await run(7);
    expect((await run(7)).equals(first)).toBe(true);
    expect((await run(8)).equals(first)).toBe(false);
  });

  it("runs with the model's own settings where the request leaves them out", async () => {
    const model = (await (await r.h.request(`/v1/models/${MODEL}`, { key: r.key })).json()) as {
      reconstruction_defaults: Record<string, number>;
    };
    // The stand-in bundle declares MindEye1's sampler settings (stand-in-bundle.ts).
    expect(model.reconstruction_defaults).toEqual({
      samples: 16,
      seed: 42,
      decoder_steps: 20,
      guidance_scale: 3.5,
      img2img_strength: 0.85,
    });
    const inputsOf = async (body: Record<string, unknown>) => {
      const created = (await (
        await r.post({ model: MODEL, betas: { values: voxelRows(1) }, ...body })
      ).json()) as Job;
      await r.h.request(created.urls.cancel, { method: "POST", key: r.key });
      const res = await r.h.request(`/v1/jobs/${created.id}`, { key: r.key });
      return ((await res.json()) as { inputs: Record<string, unknown> }).inputs;
    };
    expect(await inputsOf({})).toMatchObject(model.reconstruction_defaults);
    expect(await inputsOf({ guidance_scale: 2, samples: 1 })).toMatchObject({
      guidance_scale: 2,
      samples: 1,
    });
    // An embed-only model has no reconstruction settings to offer.
    const embedOnly = await (await r.h.request(`/v1/models/${EMBED_ONLY}`, { key: r.key })).json();
    expect(embedOnly).not.toHaveProperty("reconstruction_defaults");
  });

  it("replays the same job for the same Idempotency-Key", async () => {
    const body = { model: MODEL, betas: { values: voxelRows(1) }, samples: 1 };
    const first = (await (await r.post(body, { "idempotency-key": "rec-1" })).json()) as Job;
    const again = (await (await r.post(body, { "idempotency-key": "rec-1" })).json()) as Job;
    expect(again.id).toBe(first.id);
    const other = await r.post({ ...body, seed: 1 }, { "idempotency-key": "rec-1" });
    expect(other.status).toBe(422);
  });

  it("hides a lab's reconstruction from another lab (404)", async () => {
    const created = (await (
      await r.post({ model: MODEL, betas: { values: voxelRows(1) }, samples: 1 })
    ).json()) as Job;
    expect((await r.getJob(created.id, r.otherKey)).status).toBe(404);
    const cancel = await r.h.request(created.urls.cancel, { method: "POST", key: r.otherKey });
    expect(cancel.status).toBe(404);
  });

  it("refuses a model that cannot reconstruct with 422 before any job exists", async () => {
    const before = (await (await r.h.request("/v1/jobs", { key: r.key })).json()) as { data: unknown[] };
    const res = await r.post({ model: EMBED_ONLY, betas: { values: voxelRows(1) } });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await res.json()) as { code: string; detail: string; missing_graphs: string[] };
    expect(problem.code).toBe("model_cannot_reconstruct");
    expect([...problem.missing_graphs].sort()).toEqual(["clip_image", "unet", "vae_decoder", "vae_encoder"]);
    const after = (await (await r.h.request("/v1/jobs", { key: r.key })).json()) as { data: unknown[] };
    expect(after.data.length).toBe(before.data.length);
    // The same model still embeds: the refusal is about reconstruction only.
    const embedded = await r.h.request("/v1/embeddings", {
      method: "POST",
      key: r.key,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: EMBED_ONLY, betas: { values: voxelRows(1) } }),
    });
    expect(embedded.status).toBe(200);
  });

  it("names what is wrong in a bad request", async () => {
    const bad = async (body: unknown, field: string) => {
      const res = await r.post(body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { detail: string }).detail).toContain(field);
    };
    const betas = { values: voxelRows(1) };
    await bad({ model: MODEL, betas, samples: 17 }, "samples");
    await bad({ model: MODEL, betas, outputs: ["prior_embeddings"] }, "outputs");
    await bad({ model: MODEL, betas, img2img_strength: 0 }, "img2img_strength");
    await bad({ model: MODEL, betas, prior_steps: 50 }, "prior_steps");
    await bad({ model: MODEL, betas, steps: 10 }, "steps");
    await bad({ model: MODEL, betas, deadline_seconds: 0 }, "deadline_seconds");
    await bad({ model: MODEL, betas, previews: "yes" }, "previews");
    const wrongVoxels = await r.post({ model: MODEL, betas: { values: [[1, 2, 3]] } });
    expect(wrongVoxels.status).toBe(422);
  });
});

describe("OpenAPI", () => {
  it("describes the route with its request example and output shape", async () => {
    const doc = (await (await r.h.request("/openapi.json")).json()) as {
      paths: Record<string, { post?: { requestBody: unknown; responses: Record<string, unknown> } }>;
      components: { schemas: Record<string, { example?: unknown }> };
    };
    const op = doc.paths["/v1/reconstructions"]?.post;
    expect(op).toBeDefined();
    expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining(["202", "422"]));
    expect(doc.components.schemas.ReconstructionRequest?.example).toMatchObject({ model: "sim01" });
    expect(doc.components.schemas.ReconstructionOutputs?.example).toBeDefined();
  });
});
