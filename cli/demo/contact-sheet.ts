import sharp, { type OverlayOptions } from "sharp";

const TILE = 128;
const GAP = 8;

/**
 * One row per seen image: the seen stimulus, a gap, then the retrieved images left to right.
 * Rows whose top-1 is the seen image get a green frame on it, others red, so the sheet reads at a glance.
 */
export async function writeContactSheet(
  rows: { seen: Uint8Array; retrieved: Uint8Array[]; hit: boolean }[],
  out: string,
): Promise<void> {
  const columns = 1 + Math.max(...rows.map((r) => r.retrieved.length));
  const width = columns * (TILE + GAP) + GAP * 3;
  const height = rows.length * (TILE + GAP) + GAP;
  const tile = (file: Uint8Array) => sharp(file).resize(TILE, TILE, { kernel: "nearest" }).png().toBuffer();
  const frame = (hit: boolean) =>
    sharp({
      create: { width: TILE + 6, height: TILE + 6, channels: 3, background: hit ? "#1a9e3a" : "#c62828" },
    })
      .png()
      .toBuffer();
  const layers: OverlayOptions[] = [];
  for (const [r, row] of rows.entries()) {
    const top = GAP + r * (TILE + GAP);
    layers.push({ input: await tile(row.seen), left: GAP, top });
    for (const [c, file] of row.retrieved.entries()) {
      const left = GAP * 4 + (c + 1) * (TILE + GAP);
      if (c === 0) layers.push({ input: await frame(row.hit), left: left - 3, top: top - 3 });
      layers.push({ input: await tile(file), left, top });
    }
  }
  await sharp({ create: { width, height, channels: 3, background: "#ffffff" } })
    .composite(layers)
    .png()
    .toFile(out);
}
