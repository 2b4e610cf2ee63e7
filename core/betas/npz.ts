import yauzl from "yauzl";
import { ApiError } from "../contracts/errors.ts";
import type { LayoutRequest } from "./array-layout.ts";
import type { BetaFile, BetaLimits } from "./beta-file.ts";
import { ByteReader } from "./byte-reader.ts";
import { openNpy } from "./npy.ts";

function listEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on("entry", (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.on("end", () => resolve(entries));
    zip.on("error", reject);
    zip.readEntry();
  });
}

function zipError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(
    "invalid_file",
    `This .npz (zip) file is damaged: ${(error as Error).message}. Re-create it with np.savez('betas.npz', betas=betas).`,
    { cause: error },
  );
}

/** Picks the member to read: the one named, else `betas.npy`, else the only array. */
function chooseMember(entries: yauzl.Entry[], dataset: string | undefined): yauzl.Entry {
  const arrays = entries.filter((entry) => entry.fileName.endsWith(".npy"));
  const names = arrays.map((entry) => entry.fileName.replace(/\.npy$/, ""));
  const wanted =
    dataset?.replace(/\.npy$/, "") ??
    (names.includes("betas") ? "betas" : names.length === 1 ? names[0] : "");
  const entry = arrays.find((candidate) => candidate.fileName === `${wanted}.npy`);
  if (!entry) {
    throw new ApiError(
      "invalid_file",
      dataset
        ? `The .npz has no array '${dataset}'. It holds: ${names.join(", ") || "no arrays"}. Pass one of these as dataset.`
        : `The .npz holds several arrays (${names.join(", ")}) and none is named 'betas'. Pass the one to read as dataset.`,
    );
  }
  return entry;
}

/** Opens one array of an .npz (stored or deflated members, zip64 included) and streams it like an .npy. */
export async function openNpz(
  path: string,
  options: { dataset?: string; layout?: LayoutRequest },
  limits: BetaLimits,
): Promise<BetaFile> {
  const zip = await yauzl
    .openPromise(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true })
    .catch((error: unknown) => {
      throw zipError(error);
    });
  try {
    const entry = chooseMember(
      await listEntries(zip).catch((error: unknown) => Promise.reject(zipError(error))),
      options.dataset,
    );
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
      throw new ApiError(
        "unsupported_format",
        `The .npz member uses zip compression method ${entry.compressionMethod}. Use np.savez or np.savez_compressed.`,
      );
    }
    if (entry.uncompressedSize > limits.maxDecodedBytes) {
      throw new ApiError(
        "decompression_bomb",
        `The .npz member ${entry.fileName} expands to ${entry.uncompressedSize} bytes, past the ` +
          `${limits.maxDecodedBytes}-byte limit. Send fewer trials, or betas masked to the model's voxels.`,
      );
    }
    const open = async () => {
      const stream = await zip
        .openReadStreamPromise(entry)
        .catch((error: unknown) => Promise.reject(zipError(error)));
      return new ByteReader(stream, limits.maxDecodedBytes);
    };
    return await openNpy(
      {
        open,
        format: "npz",
        dataset: entry.fileName.replace(/\.npy$/, ""),
        compressed: entry.compressionMethod === 8,
        close: async () => zip.close(),
      },
      options.layout,
      limits,
    );
  } catch (error) {
    zip.close();
    throw error;
  }
}
