/**
 * The stimulus set on disk: one PNG per image (`<id>.png`), `clip_image.npy` (float32 [STIMULI, TOKENS,
 * TOKEN_DIM], the stand-in CLIP embeddings) and `stimuli.json` (id, split and image key of each, in order).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { encodeNpy, readNpy } from "../../core/npy/index.ts";
import { EMBEDDING_VALUES, IMAGE_SIZE, STIMULI, TOKEN_DIM, TOKENS } from "./sim01-spec.ts";
import { stimulusId } from "./stimuli.ts";
import type { World } from "./world.ts";

export interface StimulusRecord {
  stimulus_id: string;
  split: "train" | "test";
  /** Key of the PNG relative to the data dir, e.g. "sim01/stimuli/s0042.png". */
  image: string;
}

export const STIMULI_KEY_PREFIX = "sim01/stimuli";
const PNG_BATCH = 16;

export async function writeStimulusFiles(dir: string, world: World): Promise<StimulusRecord[]> {
  const test = new Set(world.design.testStimuli);
  const records: StimulusRecord[] = world.pixels.map((_, s) => ({
    stimulus_id: stimulusId(s),
    split: test.has(s) ? "test" : "train",
    image: `${STIMULI_KEY_PREFIX}/${stimulusId(s)}.png`,
  }));
  for (let start = 0; start < STIMULI; start += PNG_BATCH) {
    await Promise.all(
      world.pixels.slice(start, start + PNG_BATCH).map(async (pixels, k) => {
        const png = await sharp(pixels, { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 3 } })
          .png({ compressionLevel: 9 })
          .toBuffer();
        await writeFile(join(dir, `${stimulusId(start + k)}.png`), png);
      }),
    );
  }
  await writeFile(join(dir, "clip_image.npy"), encodeNpy(world.embeddings, [STIMULI, TOKENS, TOKEN_DIM]));
  await writeFile(join(dir, "stimuli.json"), `${JSON.stringify(records, null, 1)}\n`);
  return records;
}

export async function readStimulusFiles(
  dir: string,
): Promise<{ records: StimulusRecord[]; embeddings: Float32Array }> {
  const records = JSON.parse(await readFile(join(dir, "stimuli.json"), "utf8")) as StimulusRecord[];
  const { data } = await readNpy(join(dir, "clip_image.npy"));
  if (data.length !== records.length * EMBEDDING_VALUES)
    throw new Error(`${dir}: clip_image.npy does not match stimuli.json`);
  return { records, embeddings: data };
}
