/**
 * What a lab watching a reconstruction sees and controls: structured progress in event-stream frames and
 * job.progress webhooks, each input's result as soon as it is done, a cancel and a deadline that stop the
 * pipeline within one step, and opt-in previews of the decoder's estimate.
 */
import sharp from "sharp";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RECONSTRUCTION_STAGES } from "../../core/inference/reconstructor.ts";
import { sseReader } from "../jobs/test-support/read-sse.ts";
import {
  type Job,
  MODEL,
  type ProgressDetail,
  type ReconstructionHarness,
  startReconstructionHarness,
  voxelRows,
  waitFor,
} from "./test-support/reconstruction-harness.ts";

// Each job takes seconds; on a loaded shared machine, many more (a guard against hangs, not a timing assert).
const SLOW_MS = 120_000;

let r: ReconstructionHarness;
beforeAll(async () => {
  // 8 ms a step: a prior of 100 steps spans several polls of the event stream (250 ms).
  r = await startReconstructionHarness({ minStepMs: 8 });
});
afterAll(async () => {
  await r.close();
});

/** Every frame of the job's event stream, until it closes after the terminal status. */
async function streamedJobs(job: Job): Promise<Job[]> {
  const res = await r.h.request(job.urls.events, { key: r.key });
  expect(res.headers.get("content-type")).toBe("text/event-stream");
  const reader = sseReader(res.body!);
  const frames: Job[] = [];
  for (let m = await reader.next(); m; m = await reader.next()) frames.push(JSON.parse(m.data) as Job);
  return frames;
}

const created = async (body: Record<string, unknown>) => {
  const res = await r.post({ model: MODEL, ...body });
  expect(res.status).toBe(202);
  return (await res.json()) as Job;
};

/** The webhook of `type` for `jobId`, verified by the standardwebhooks library. */
async function verifiedHook(type: string, jobId: string): Promise<Job> {
  const hook = await waitFor(type, async () =>
    r.receiver.received.find((w) => w.type === type && w.body.includes(jobId)),
  );
  return (new Webhook(await r.webhookSecret()).verify(hook.body, hook.headers) as { data: Job }).data;
}

function expectWellFormed(detail: ProgressDetail, inputs: number): void {
  expect(detail.inputs).toBe(inputs);
  expect(detail.input).toBeGreaterThanOrEqual(0);
  expect(detail.input).toBeLessThan(inputs);
  expect(RECONSTRUCTION_STAGES).toContain(detail.stage);
  expect(detail.step).toBeGreaterThanOrEqual(1);
  expect(detail.step).toBeLessThanOrEqual(detail.steps);
  if (detail.stage === "prior") expect(detail.steps).toBe(100);
  // The decoder runs the img2img share of its steps: 17 of 20 at 0.85.
  if (detail.stage === "decoder") expect(detail.steps).toBe(17);
}

describe("progress of a reconstruction", { timeout: SLOW_MS }, () => {
  it("names input, stage and step in event-stream frames and job.progress webhooks", async () => {
    const job = await created({
      betas: { values: voxelRows(2) },
      samples: 8,
      webhook: { url: r.receiver.url, events: ["job.progress"] },
    });
    const frames = await streamedJobs(job);
    expect(frames.at(-1)!.status).toBe("succeeded");
    const details = frames.flatMap((f) => (f.progress_detail ? [{ ...f.progress_detail, frame: f }] : []));
    expect(details.length).toBeGreaterThan(2);
    const order = (d: ProgressDetail) =>
      d.input * 1e6 + RECONSTRUCTION_STAGES.indexOf(d.stage as never) * 1e3 + d.step;
    for (const [i, d] of details.entries()) {
      expectWellFormed(d, 2);
      // The message says what the fields say.
      expect(d.frame.progress_message).toBe(`input ${d.input} (of 2) ${d.stage} ${d.step}/${d.steps}`);
      // Frames go forward: input, then stage in pipeline order, then step.
      if (i > 0) expect(order(d)).toBeGreaterThanOrEqual(order(details[i - 1]!));
    }
    expect(details.some((d) => d.stage === "prior" && d.step > 1 && d.step < 100)).toBe(true);

    const hooked = await verifiedHook("job.progress", job.id);
    expectWellFormed(hooked.progress_detail!, 2);
    expect(hooked.progress_message).toBe(
      `input ${hooked.progress_detail!.input} (of 2) ${hooked.progress_detail!.stage} ` +
        `${hooked.progress_detail!.step}/${hooked.progress_detail!.steps}`,
    );
  });

  it("exposes input 0's result while input 1 is still running", async () => {
    const job = await created({ betas: { values: voxelRows(2, 3) }, samples: 16 });
    // One GET is one snapshot: the job running input 1, with what is done so far as its outputs.
    const midway = await waitFor("input 1 running", async () => {
      const { job: now } = await r.getJob(job.id);
      expect(now.status).not.toBe("succeeded"); // input 1 must be caught while it runs
      return now.status === "running" && now.progress_detail?.input === 1 ? now : undefined;
    });
    expect(midway.progress_detail!.inputs_done).toBe(1);
    const partial = midway.outputs!.reconstructions;
    expect(partial.map((rec) => rec.input)).toEqual([0]);
    const early = await r.download(partial[0]!.best!.url);
    expect((await sharp(early).metadata()).format).toBe("png");
    expect(Object.keys(midway.outputs!.files)).not.toContain("input-1-best.png");

    const done = await waitFor("succeeded", async () => {
      const { job: now } = await r.getJob(job.id);
      return now.status === "succeeded" ? now : undefined;
    });
    expect(done.outputs!.reconstructions.map((rec) => rec.input)).toEqual([0, 1]);
    // What was shown early is the final result of input 0, byte for byte.
    expect((await r.download(done.outputs!.reconstructions[0]!.best!.url)).equals(early)).toBe(true);
  });
});

describe("control of a reconstruction", { timeout: SLOW_MS }, () => {
  it("stops a canceled job within one step, keeps the inputs done, and sends job.canceled", async () => {
    const job = await created({
      betas: { values: voxelRows(200) },
      samples: 16,
      webhook: { url: r.receiver.url, events: ["job.canceled"] },
    });
    const running = await waitFor("input 0 done and the next in a sampling loop", async () => {
      const { job: now } = await r.getJob(job.id);
      const d = now.progress_detail;
      return d && d.inputs_done >= 1 && (d.stage === "prior" || d.stage === "decoder") ? now : undefined;
    });
    expect(running.status).toBe("running");
    expect((await r.h.request(job.urls.cancel, { method: "POST", key: r.key })).status).toBe(200);
    const finished = await waitFor("canceled", async () => {
      const { job: now } = await r.getJob(job.id);
      return now.status === "canceled" ? now : undefined;
    });
    expect((await verifiedHook("job.canceled", job.id)).status).toBe("canceled");
    // The worker aborts the run's signal; the run then reports at most one more step.
    const run = r.runOf(job.id);
    expect(run).toBeDefined();
    expect(run!.stepsAfterAbort).toBeLessThanOrEqual(1);
    // It stopped part-way, keeping what was done: every kept input's files are there and decode.
    const kept = finished.outputs!.reconstructions;
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(200);
    expect(kept.map((rec) => rec.input)).toEqual([...kept.keys()]);
    expect((await sharp(await r.download(kept.at(-1)!.best!.url)).metadata()).format).toBe("png");
  });

  it("expires a job at its deadline_seconds: stopped within one step, deadline_exceeded, job.expired", async () => {
    const job = await created({
      betas: { values: voxelRows(200, 1) },
      samples: 16,
      deadline_seconds: 1,
      webhook: { url: r.receiver.url, events: ["job.expired"] },
    });
    expect(Date.parse(job.deadline!) - Date.parse(job.created_at)).toBeGreaterThanOrEqual(900);
    expect(Date.parse(job.deadline!) - Date.parse(job.created_at)).toBeLessThanOrEqual(1100);
    const expired = await waitFor("expired", async () => {
      const { job: now } = await r.getJob(job.id);
      return now.status === "expired" ? now : undefined;
    });
    expect(expired.error).toMatchObject({ code: "deadline_exceeded" });
    expect(expired.error!.detail).toContain("deadline_seconds");
    expect((await verifiedHook("job.expired", job.id)).error).toMatchObject({ code: "deadline_exceeded" });
    const run = r.runOf(job.id);
    expect(run).toBeDefined();
    expect(String(run!.signal!.reason)).toContain("expired");
    expect(run!.stepsAfterAbort).toBeLessThanOrEqual(1);
    expect(expired.outputs?.reconstructions.length ?? 0).toBeLessThan(200);
  });
});

describe("previews", { timeout: SLOW_MS }, () => {
  const body = { betas: { values: voxelRows(1, 9) }, samples: 2, seed: 5 };

  // What they show is checked against a closed-form world in gpu-worker/reconstruction/reconstruct.test.ts.
  it("are written every 5 decoder steps when asked for, signed in the progress, and change no result", async () => {
    const job = await created({ ...body, previews: true });
    const frames = await streamedJobs(job);
    expect(frames.at(-1)!.status).toBe("succeeded");
    // Every preview is stored; the stream shows the latest at each frame.
    expect([...(await storedPreviews(job.id)).keys()].sort()).toEqual([
      "input-0-decoder-005.png",
      "input-0-decoder-010.png",
      "input-0-decoder-015.png",
    ]);
    const shown = frames.flatMap((f) => (f.progress_detail?.preview ? [f.progress_detail.preview] : []));
    expect(shown.length).toBeGreaterThan(0);
    const preview = shown.at(-1)!;
    expect(preview).toMatchObject({ input: 0, steps: 17 });
    expect([5, 10, 15]).toContain(preview.step);
    expect(JSON.stringify(frames)).not.toContain('"key"'); // blob keys are never shown
    const png = await sharp(await r.download(preview.url)).metadata();
    expect([png.format, png.width, png.height]).toEqual(["png", preview.width, preview.height]);

    // Previews draw no noise: the result is byte-identical to the same request without them.
    const plain = await r.post({ model: MODEL, ...body }, { prefer: "wait=30" });
    const withPreviews = (await r.getJob(job.id)).job;
    const best = async (j: Job) => r.download(j.outputs!.reconstructions[0]!.best!.url);
    expect((await best((await plain.json()) as Job)).equals(await best(withPreviews))).toBe(true);
  });

  it("are not written unless asked for", async () => {
    const res = await r.post({ model: MODEL, ...body }, { prefer: "wait=30" });
    const job = (await res.json()) as Job;
    expect(job.status).toBe("succeeded");
    expect((await storedPreviews(job.id)).size).toBe(0);
  });
});

/** A job's stored preview PNGs by file name. */
async function storedPreviews(jobId: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for await (const blob of r.h.services.blobs.list("outputs/")) {
    if (!blob.key.includes(`/${jobId}/previews/`)) continue;
    const chunks: Buffer[] = [];
    for await (const chunk of await r.h.services.blobs.get(blob.key)) chunks.push(chunk as Buffer);
    found.set(blob.key.split("/").at(-1)!, Buffer.concat(chunks));
  }
  return found;
}
