/** What a lab does with its files against the API in the end-to-end tests: upload them, and rewrite volumes. */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "vitest";
import { iterateTrials, openBetaFile } from "../../core/betas/index.ts";
import type { Harness } from "./harness.ts";

/** A POST with a JSON body as a lab sends it; expects a 2xx and returns the parsed answer. */
export async function postJson<T>(
  h: Harness,
  key: string,
  pathname: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const res = await h.request(pathname, {
    method: "POST",
    key,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as T;
}

/** The model's mask as a lab gets it (GET /v1/models/{id}/mask, a .npy read like any beta file). */
export async function downloadMask(
  h: Harness,
  key: string,
  model: string,
  dir: string,
): Promise<Float32Array> {
  const res = await h.request(`/v1/models/${model}/mask`, { key });
  expect(res.status).toBe(200);
  const file = path.join(dir, "mask.npy");
  await writeFile(file, new Uint8Array(await res.arrayBuffer()));
  const npy = await openBetaFile(file);
  try {
    for await (const volume of iterateTrials(npy)) return volume;
  } finally {
    await npy.close();
  }
  throw new Error("the mask holds no volume");
}

/**
 * Uploads a file as a lab does (POST /v1/uploads, PUT to the presigned URL, complete for `model`); returns the
 * completed upload (ready).
 */
export async function uploadFile(
  h: Harness,
  key: string,
  file: string,
  model: string,
): Promise<{ id: string; dtype: string; trials: number }> {
  const call = <T>(pathname: string, body: unknown) => postJson<T>(h, key, pathname, body);
  const bytes = new Uint8Array(await readFile(file));
  const created = await call<{ id: string; upload: { url: string; headers: Record<string, string> } }>(
    "/v1/uploads",
    { filename: path.basename(file), size: bytes.length },
  );
  const put = await h.app.request(created.upload.url, {
    method: "PUT",
    body: bytes,
    headers: created.upload.headers,
  });
  expect(put.status).toBe(200);
  const done = await call<{ id: string; status: string; dtype: string; trials: number }>(
    `/v1/uploads/${created.id}/complete`,
    { model },
  );
  expect(done.status).toBe("ready");
  return done;
}

/** A volume read in numpy C order over (x, y, z) as int16 in NIfTI's order (x fastest), for the writer. */
export function fileOrder(volume: Float32Array, grid: readonly [number, number, number]): Int16Array {
  const [X, Y, Z] = grid;
  const out = new Int16Array(volume.length);
  for (let x = 0; x < X; x++) {
    for (let y = 0; y < Y; y++) {
      for (let z = 0; z < Z; z++) out[x + X * (y + Y * z)] = volume[(x * Y + y) * Z + z]!;
    }
  }
  return out;
}
