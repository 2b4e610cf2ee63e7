/**
 * The vector index of every stimulus, in the space the bundle's `retrieval` output lives in: each point's
 * vector is the stimulus's stand-in CLIP embedding [TOKENS, TOKEN_DIM], flattened token-major (token 0's
 * dims, then token 1's, ...) and L2-normalised, compared by cosine. The brain's `retrieval` output, flattened
 * the same way, is already unit length, so a query needs no further step.
 */
import type { VectorStore } from "../../core/search/vector-index.ts";
import { retrievalVector } from "./encoder.ts";
import { EMBEDDING_VALUES, STIMULUS_INDEX } from "./sim01-spec.ts";
import type { StimulusRecord } from "./stimulus-files.ts";
import { stimulusImageKey } from "./stimulus-images.ts";

const UPSERT_BATCH = 500;

function vectorOf(embeddings: Float32Array, s: number): Float32Array {
  return retrievalVector(embeddings.subarray(s * EMBEDDING_VALUES, (s + 1) * EMBEDDING_VALUES));
}

/** A point's payload; the image is named by its blob key (stimulus-images.ts), which the API signs. */
function payloadOf(record: StimulusRecord) {
  return {
    stimulus_id: record.stimulus_id,
    split: record.split,
    image_key: stimulusImageKey(record.stimulus_id),
  };
}

/** True when the index holds every stimulus and its first stimulus finds itself, with today's payload. */
async function isCurrent(store: VectorStore, records: StimulusRecord[], embeddings: Float32Array) {
  const existing = (await store.list()).find((i) => i.name === STIMULUS_INDEX);
  if (!existing || existing.count !== records.length || existing.dim !== EMBEDDING_VALUES) return false;
  const index = await store.open(STIMULUS_INDEX);
  try {
    const [hit] = await index.query(vectorOf(embeddings, 0), { k: 1 });
    const expected = payloadOf(records[0]!);
    return (
      hit?.id === records[0]!.stimulus_id &&
      hit.score > 0.999 &&
      Object.entries(expected).every(([field, value]) => hit.payload[field] === value)
    );
  } finally {
    await index.close();
  }
}

/** Creates (or recreates, when stale) the stimulus index; returns whether it was (re)built. */
export async function ensureStimulusIndex(
  store: VectorStore,
  records: StimulusRecord[],
  embeddings: Float32Array,
): Promise<boolean> {
  if (await isCurrent(store, records, embeddings)) return false;
  await store.drop(STIMULUS_INDEX);
  const index = await store.create(STIMULUS_INDEX, {
    dim: EMBEDDING_VALUES,
    metric: "cosine",
    quantization: "f32",
    payloadIndexes: { stimulus_id: "keyword", split: "keyword" },
  });
  try {
    for (let start = 0; start < records.length; start += UPSERT_BATCH) {
      await index.upsert(
        records.slice(start, start + UPSERT_BATCH).map((record, k) => ({
          id: record.stimulus_id,
          vector: vectorOf(embeddings, start + k),
          payload: payloadOf(record),
        })),
      );
    }
    await index.flush();
  } finally {
    await index.close();
  }
  return true;
}
