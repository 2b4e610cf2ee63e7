/**
 * Writes a generated LAION-layout dataset (img_emb/img_emb_N.npy + metadata/metadata_N.parquet) for the
 * ingest benchmark: `tsx bench/gen-laion-shards.ts [--vectors 1000000] [--shards 8] [--dim 768]
 * [--dtype float16] [--out DIR]`. Defaults to a folder under the OS temp dir; never commit its output.
 */
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { writeLaionShards } from "../core/search/testing/laion-shards.ts";

const { values } = parseArgs({
  options: {
    vectors: { type: "string", default: "1000000" },
    shards: { type: "string", default: "8" },
    dim: { type: "string", default: "768" },
    dtype: { type: "string", default: "float16" },
    out: { type: "string" },
    seed: { type: "string", default: "1" },
  },
});
const vectors = Number(values.vectors);
const shards = Number(values.shards);
const out = values.out ?? path.join(os.tmpdir(), `mindeye-laion-${vectors}`);
const started = performance.now();
await writeLaionShards(out, {
  shards,
  rowsPerShard: Math.ceil(vectors / shards),
  dim: Number(values.dim),
  dtype: values.dtype === "float32" ? "float32" : "float16",
  seed: Number(values.seed),
});
process.stdout.write(`${out}\n`);
process.stderr.write(
  `wrote ${shards} shards of ${Math.ceil(vectors / shards)} rows in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
);
