import { readFile, stat } from "node:fs/promises";
import { ApiError } from "../contracts/errors.ts";
import type { LayoutRequest } from "./array-layout.ts";
import type { BetaFile, BetaLimits } from "./beta-file.ts";
import { inMemoryBetaFile } from "./in-memory.ts";
import { flattenNestedNumbers } from "./nested-array.ts";

/** JSON text is about 10 bytes a value, and a parsed array far more; keep JSON to a few trials. */
const MAX_JSON_BYTES = 64 << 20;

/** A JSON file of nested number arrays (bare, or as {"values": [...]}), meant for one or a few trials. */
export async function openJsonFile(
  path: string,
  layout: LayoutRequest | undefined,
  limits: BetaLimits,
): Promise<BetaFile> {
  const { size } = await stat(path);
  if (size > Math.min(MAX_JSON_BYTES, limits.maxDecodedBytes)) {
    throw new ApiError(
      "file_too_large",
      `This JSON file is ${size} bytes. JSON suits a few trials; send more as .npy (float32 [trials, voxels]).`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new ApiError("invalid_file", `The JSON does not parse (${(error as Error).message}).`, {
      cause: error,
    });
  }
  const nested =
    parsed && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as { values?: unknown }).values
      : parsed;
  const { values, shape } = flattenNestedNumbers(nested, {
    code: "invalid_file",
    maxValues: limits.maxDecodedBytes / 4,
  });
  return inMemoryBetaFile(values, shape, { format: "json", dtype: "<f4", layout });
}
