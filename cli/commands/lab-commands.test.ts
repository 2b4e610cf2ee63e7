/**
 * The lab's commands (`upload`, `embed`, `retrieve`, `jobs`) as processes against a live `mindeye serve`
 * on sim01, reached through MINDEYE_API_URL and MINDEYE_API_KEY; and what a user sees when something is
 * wrong: one line and a non-zero exit, never a stack trace.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeNpyBody } from "../../core/betas/index.ts";
import { decodeTensor, type TensorJson } from "../../core/contracts/tensor.ts";
import packageJson from "../../package.json" with { type: "json" };
import { type LiveServer, startLiveServer } from "../testing/live-server.ts";

const exec = promisify(execFile);
const MAIN = path.resolve("cli/main.ts");
const MODEL = "sim01";

let server: LiveServer;
let scratch: string;
let session: { file: string; stimulus: string[] };
let testImages: Set<string>;
let secondSession: { file: string; stimulus: string[] };
let uploadId: string;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function mindeye(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return exec(process.execPath, ["--import", "tsx", MAIN, ...args], {
    env: { ...(server?.env ?? process.env), ...env },
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: Outcome) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

async function api<T>(method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${server.key}`, "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as T;
}

/** A user error: non-zero, and stderr is one line naming the problem, with no stack frames. */
function expectOneLine(outcome: Outcome, says: RegExp) {
  expect(outcome.code).not.toBe(0);
  expect(outcome.stderr.trim().split("\n"), outcome.stderr).toHaveLength(1);
  expect(outcome.stderr).toMatch(says);
  expect(outcome.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(async () => {
  server = await startLiveServer();
  scratch = await mkdtemp(path.join(os.tmpdir(), "mindeye-lab-cli-"));
  const sessions = path.join(server.dataDir, "sim01", "sessions");
  const truth = JSON.parse(await readFile(path.join(sessions, "truth.json"), "utf8"));
  session = { ...truth.sessions[0], file: path.join(sessions, truth.sessions[0].file) };
  // Test images are the stimuli shown in more than one session (NSD's design); the rest are training images.
  const shown = new Map<string, number>();
  for (const { stimulus } of truth.sessions as { stimulus: string[] }[])
    for (const id of new Set(stimulus)) shown.set(id, (shown.get(id) ?? 0) + 1);
  testImages = new Set([...shown].filter(([, sessionsShown]) => sessionsShown > 1).map(([id]) => id));
  secondSession = { ...truth.sessions[1], file: path.join(sessions, truth.sessions[1].file) };
}, 600_000);

afterAll(async () => {
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("mindeye (no server needed)", () => {
  it("lists the lab's commands in --help and prints its version", async () => {
    const help = await mindeye(["--help"]);
    expect(help.code).toBe(0);
    for (const name of ["serve", "upload", "embed", "retrieve", "jobs", "keys", "demo"]) {
      expect(help.stdout).toMatch(new RegExp(`\\n  ${name} `));
    }
    expect((await mindeye(["--version"])).stdout.trim()).toBe(packageJson.version);
  }, 30_000);
});

describe("mindeye upload", () => {
  it("streams the file with a progress bar, prints the upload id, and the upload is ready", async () => {
    const outcome = await mindeye(["upload", session.file, "--model", MODEL]);
    expect(outcome.code, outcome.stderr).toBe(0);
    uploadId = outcome.stdout.trim();
    expect(uploadId).toMatch(/^upl_[a-z0-9]+$/);
    expect(outcome.stderr).toMatch(/upload \[.*\] 100%/);
    expect(outcome.stderr).toContain("450 trials, 2152 voxels for sim01");
    const upload = await api<{ status: string; trials: number }>("GET", `/v1/uploads/${uploadId}`);
    expect(upload).toMatchObject({ status: "ready", trials: 450 });
  }, 60_000);
});

describe("mindeye embed", () => {
  it("writes the rows asked for, as the API computes them", async () => {
    const out = path.join(scratch, "embeddings.npy");
    const outcome = await mindeye([
      "embed",
      uploadId,
      "--model",
      MODEL,
      "--trials",
      "3-5,9",
      "--zscore",
      "none",
      "--out",
      out,
    ]);
    expect(outcome.code, outcome.stderr).toBe(0);
    const written = await decodeNpyBody(new Uint8Array(await readFile(out)), { maxDecodedBytes: 1 << 24 });
    expect(written.shape).toEqual([4, 17, 32]);
    const direct = await api<{ outputs: { retrieval: TensorJson } }>("POST", "/v1/embeddings", {
      model: MODEL,
      betas: { upload_id: uploadId, trials: [3, 4, 5, 9] },
      preprocessing: { zscore: "none" },
      encoding: "base64",
    });
    const expected = decodeTensor(direct.outputs.retrieval, { maxValues: 1 << 20 }).data;
    let worst = 0;
    for (let i = 0; i < expected.length; i++)
      worst = Math.max(worst, Math.abs(expected[i]! - written.data[i]!));
    expect(worst).toBeLessThan(1e-5);
  }, 60_000);
});

describe("mindeye retrieve", () => {
  it("finds the seen image of a session's test trials among the 300 test stimuli", async () => {
    // One session shows each test image once: each group is one trial, z-scored over the whole upload.
    const images = session.stimulus.filter((id) => testImages.has(id)).slice(0, 30);
    const groups = images.map((image) => [session.stimulus.indexOf(image)]);
    const outcome = await mindeye([
      "retrieve",
      uploadId,
      "--model",
      MODEL,
      "--index",
      "sim01-stimuli",
      "-k",
      "3",
      "--average",
      JSON.stringify(groups),
      "--filter",
      "split=test",
      "--json",
    ]);
    expect(outcome.code, outcome.stderr).toBe(0);
    const results = JSON.parse(outcome.stdout) as { payload: { stimulus_id: string } }[][];
    expect(results).toHaveLength(images.length);
    const top1 =
      results.filter((hits, i) => hits[0]!.payload.stimulus_id === images[i]).length / images.length;
    expect(top1).toBeGreaterThan(0.5); // chance: 1/300
  }, 60_000);
});

describe("mindeye demo", () => {
  it("retrieves a held-out session through the API and writes the figure where --out says", async () => {
    const out = path.join(scratch, "retrieval figure.png");
    const outcome = await mindeye(["demo", "--show", "3", "--out", out]);
    expect(outcome.code, outcome.stderr).toBe(0);
    const top1 = Number(/top-1 ([\d.]+)% \(chance 0\.33%\)/.exec(outcome.stdout)?.[1]);
    expect(top1).toBeGreaterThan(50);
    expect(outcome.stdout).toContain(`figure: ${out}`);
    expect(outcome.stdout.match(/-> /g)).toHaveLength(3);
    const { default: sharp } = await import("sharp");
    const meta = await sharp(out).metadata();
    // 3 rows of 128 px tiles and 5 ranked candidates: a figure, not a thumbnail.
    expect(meta).toMatchObject({ format: "png", width: 1048 });
    expect(meta.height).toBeGreaterThan(3 * 128);
  }, 180_000);

  it("--reconstruct with an unknown --model is one line, before anything is uploaded", async () => {
    expectOneLine(
      await mindeye([
        "demo",
        "--reconstruct",
        "--model",
        "nope",
        "--images",
        "2",
        "--out",
        path.join(scratch, "r.png"),
      ]),
      /nope.*model_not_found/,
    );
  }, 180_000);
});

describe("mindeye retrieve across sessions", () => {
  it("takes an upload id and a file (uploaded first) as sessions, rows concatenated in order", async () => {
    // Rows of the second session follow the first's in the concatenation the average groups index.
    const stimuli = [...session.stimulus, ...secondSession.stimulus];
    // Test images shown in both sessions: each group averages one repeat from each.
    const images = session.stimulus
      .filter((id) => testImages.has(id) && secondSession.stimulus.includes(id))
      .slice(0, 15);
    expect(images.length).toBeGreaterThanOrEqual(10);
    const groups = images.map((image) => stimuli.flatMap((s, t) => (s === image ? [t] : [])));
    const outcome = await mindeye([
      "retrieve",
      uploadId,
      secondSession.file,
      "--model",
      MODEL,
      "--index",
      "sim01-stimuli",
      "--average",
      JSON.stringify(groups),
      "--filter",
      "split=test",
      "--json",
    ]);
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcome.stderr).toMatch(/upload \[.*\] 100%/);
    const results = JSON.parse(outcome.stdout) as { payload: { stimulus_id: string } }[][];
    const top1 =
      results.filter((hits, i) => hits[0]!.payload.stimulus_id === images[i]).length / images.length;
    expect(top1).toBeGreaterThan(0.5); // chance: 1/300
  }, 90_000);
});

describe("mindeye jobs", () => {
  it("watches a running job from its event stream to the end, then lists, shows and refuses to cancel it", async () => {
    const created = await api<{ id: string }>(
      "POST",
      "/v1/embeddings",
      { model: MODEL, betas: { upload_id: uploadId } },
      { prefer: "respond-async" },
    );
    const watched = await mindeye(["jobs", "watch", created.id]);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain(`${created.id} succeeded; files: retrieval`);
    expect(watched.stderr).toMatch(/\] 100% \| succeeded/);

    expect((await mindeye(["jobs", "list", "--limit", "5"])).stdout).toMatch(
      new RegExp(`^${created.id}\\tembeddings\\tsucceeded\\t100%`, "m"),
    );
    const shown = JSON.parse((await mindeye(["jobs", "get", created.id])).stdout);
    expect(shown.outputs.files.retrieval.url).toMatch(/^http/);
    expectOneLine(await mindeye(["jobs", "cancel", created.id]), /job_not_cancelable/);
  }, 90_000);
});

describe("user errors are one line and a non-zero exit", () => {
  it.each([
    ["a revoked or wrong key", ["jobs", "list"], { MINDEYE_API_KEY: "mk_wrong" }, /unauthorized/],
    [
      "no server there",
      ["jobs", "list"],
      { MINDEYE_API_URL: "http://127.0.0.1:9" },
      /cannot reach http:\/\/127\.0\.0\.1:9 .*mindeye serve/,
    ],
    [
      "a URL that is not one",
      ["jobs", "list"],
      { MINDEYE_API_URL: "localhost 8787" },
      /MINDEYE_API_URL is not a URL/,
    ],
    [
      "no key at all",
      ["jobs", "list"],
      { MINDEYE_API_KEY: "", MINDEYE_DATA_DIR: "/nonexistent" },
      /no API key: set MINDEYE_API_KEY/,
    ],
    [
      "a missing file",
      ["upload", "/nonexistent/session.nii.gz"],
      {},
      /cannot read \/nonexistent\/session\.nii\.gz/,
    ],
    ["an unknown job", ["jobs", "get", "job_nosuchjob"], {}, /not_found/],
    ["an unknown index", ["retrieve", "upl_x", "--model", MODEL, "--index", "nope"], {}, /not_found/],
    [
      "a backwards trial range",
      ["embed", "upl_x", "--model", MODEL, "--trials", "9-3"],
      {},
      /--trials range 9-3 runs backwards/,
    ],
    [
      "average that is not JSON",
      ["retrieve", "upl_x", "--model", MODEL, "--index", "i", "--average", "[[0,1]"],
      {},
      /--average takes JSON/,
    ],
    ["demo --show 0", ["demo", "--show", "0"], {}, /--show takes a whole number from 1 to 30; got "0"/],
    ["demo --k 11", ["demo", "--k", "11"], {}, /--k takes a whole number from 1 to 10/],
    ["demo --show -1", ["demo", "--show=-1"], {}, /--show takes a whole number/],
    [
      "demo --out into no folder",
      ["demo", "--out", "/nonexistent/fig.png"],
      {},
      /there is no folder \/nonexistent/,
    ],
    ["demo --out not a PNG", ["demo", "--out", "fig.jpg"], {}, /--out names a PNG file/],
    ["demo --session past the last", ["demo", "--session", "42"], {}, /--session takes 0 to 7; got 42/],
  ] as const)(
    "%s",
    async (_, args, env, says) => {
      expectOneLine(await mindeye([...args], env), says);
    },
    30_000,
  );

  it("an unknown model, refused before anything is queued", async () => {
    expectOneLine(
      await mindeye(["embed", uploadId, "--model", "nope"]),
      /There is no model nope\..*model_not_found/,
    );
  }, 30_000);
});
