import { ApiError } from "../contracts/errors.ts";
import { decodeTensor, type TensorJson } from "../contracts/tensor.ts";
import type { BetasSource } from "./prepare-betas.ts";

export interface SessionBody {
  upload_id: string;
  dataset?: string;
  trials?: number[];
}

/** `betas` as the API takes them: a tensor, trials of one upload, or trials of several sessions' uploads. */
export type BetasBody = TensorJson | SessionBody | { sessions: SessionBody[] };

/** The betas of a request body as the embedding pipeline takes them; a 1-D tensor is one trial. */
export function betasSourceOf(betas: BetasBody, maxValues: number): BetasSource {
  if ("upload_id" in betas) return { kind: "sessions", sessions: [sessionOf(betas)] };
  if ("sessions" in betas) return { kind: "sessions", sessions: betas.sessions.map(sessionOf) };
  return inlineSource(decodeTensor(betas, { maxValues }));
}

const sessionOf = (s: SessionBody) => ({ uploadId: s.upload_id, dataset: s.dataset, trials: s.trials });

export function inlineSource(tensor: { data: Float32Array; shape: number[] }): BetasSource {
  const [first, second] = tensor.shape;
  if (tensor.shape.length === 1) return { kind: "inline", matrix: { data: tensor.data, shape: [1, first!] } };
  if (tensor.shape.length === 2)
    return { kind: "inline", matrix: { data: tensor.data, shape: [first!, second!] } };
  throw new ApiError(
    "invalid_request",
    `Inline betas are [trials, voxels] or [voxels]; got shape [${tensor.shape.join(", ")}]. ` +
      "Upload volumes (POST /v1/uploads) so they are masked with the model's mask.",
  );
}
