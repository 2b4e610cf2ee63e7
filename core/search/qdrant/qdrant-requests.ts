import { createHash } from "node:crypto";
import type { Schemas } from "@qdrant/js-client-rest";
import { isInList } from "../payload-filter.ts";
import type { Payload, PayloadFilter, PayloadValue, PointId, SearchHit } from "../vector-index.ts";

/** Payload key that keeps a string id Qdrant cannot take as a point id (it accepts u64 and UUIDs only). */
export const ORIGINAL_ID_KEY = "_mindeye_id";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The Qdrant point id for an id: integers and UUIDs as they are, other strings as a name-based UUID. */
export function qdrantPointId(id: PointId): string | number {
  if (typeof id === "number" || UUID.test(id)) return id;
  const hex = createHash("sha256").update(`mindeye:${id}`).digest("hex");
  // RFC 9562 version 8 (custom) with the RFC variant bits.
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function qdrantPoint(
  id: PointId,
  vector: Float32Array,
  payload: Payload | undefined,
): Schemas["PointStruct"] {
  const pointId = qdrantPointId(id);
  const stored = pointId === id ? { ...payload } : { ...payload, [ORIGINAL_ID_KEY]: id };
  return { id: pointId, vector: Array.from(vector), payload: stored };
}

export function hitOf(point: Schemas["ScoredPoint"]): SearchHit {
  const { [ORIGINAL_ID_KEY]: original, ...payload } = (point.payload ?? {}) as Record<string, PayloadValue>;
  const id = typeof original === "string" ? original : (point.id as PointId);
  return { id, score: point.score, payload };
}

/** Equality becomes `match.value`; a list becomes `match.any` when Qdrant can take it, else a `should`. */
export function qdrantFilter(filter: PayloadFilter | undefined): Schemas["Filter"] | undefined {
  if (!filter || Object.keys(filter).length === 0) return undefined;
  const must: Schemas["Condition"][] = Object.entries(filter).map(([key, condition]) => {
    if (!isInList(condition)) return { key, match: { value: condition as string | number | boolean } };
    const values = condition.in;
    if (values.every((v) => typeof v === "string")) return { key, match: { any: [...new Set(values)] } };
    if (values.every((v) => typeof v === "number")) return { key, match: { any: [...new Set(values)] } };
    return { should: values.map((value) => ({ key, match: { value: value as string | number | boolean } })) };
  });
  return { must };
}

/**
 * One search. On a quantized collection it is the two-stage query of §A1/A6: a prefetch over the int8
 * vectors in RAM that keeps `k * oversampling` candidates without rescoring, then the same vector scored
 * against the on-disk originals over those candidates only.
 */
export function queryRequest(
  vector: Float32Array,
  k: number,
  filter: PayloadFilter | undefined,
  options: { quantized: boolean; oversampling: number; hnswEf?: number },
): Schemas["QueryRequest"] {
  const query = Array.from(vector);
  const qdrant = qdrantFilter(filter);
  const hnsw = options.hnswEf ? { hnsw_ef: options.hnswEf } : {};
  if (!options.quantized) {
    return { query, limit: k, filter: qdrant, params: hnsw, with_payload: true };
  }
  return {
    prefetch: {
      query,
      limit: Math.ceil(k * options.oversampling),
      filter: qdrant,
      params: { ...hnsw, quantization: { rescore: false } },
    },
    query,
    limit: k,
    filter: qdrant,
    params: { quantization: { ignore: true } },
    with_payload: true,
  };
}
