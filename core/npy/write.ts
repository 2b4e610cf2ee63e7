import { writeFile } from "node:fs/promises";
import { encodeNpy } from "./encode.ts";
import type { Float32Npy } from "./read.ts";

export async function writeNpy(path: string, array: Pick<Float32Npy, "shape" | "data">): Promise<void> {
  await writeFile(path, encodeNpy(array.data, array.shape));
}
