import sharp from "sharp";
import type { ImageTensor } from "./reconstructor.ts";

export interface EncodedPng {
  bytes: Uint8Array;
  width: number;
  height: number;
}

/**
 * One [3, H, W] image in [0, 1] (values outside are clamped) as 8-bit RGB PNG bytes; with `maxSide`, shrunk
 * (bicubic) so neither side exceeds it.
 */
export async function encodePng(image: ImageTensor, offset = 0, maxSide?: number): Promise<EncodedPng> {
  const dims = image.dims.slice(-3);
  const [channels, height, width] = dims as [number, number, number];
  if (channels !== 3) throw new Error(`expected a [3, H, W] image, got [${image.dims.join(", ")}]`);
  const plane = height * width;
  const base = offset * 3 * plane;
  const pixels = Buffer.alloc(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const v = image.data[base + c * plane + i]!;
      pixels[i * 3 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  let png = sharp(pixels, { raw: { width, height, channels: 3 } });
  if (maxSide && Math.max(width, height) > maxSide) {
    png = png.resize({ width: maxSide, height: maxSide, fit: "inside", kernel: "cubic" });
  }
  const { data, info } = await png.png().toBuffer({ resolveWithObject: true });
  return { bytes: new Uint8Array(data), width: info.width, height: info.height };
}
