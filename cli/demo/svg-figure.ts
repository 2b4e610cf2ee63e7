/**
 * The demo figures are drawn as one SVG (text, frames, images embedded as PNG data) and rendered to PNG by
 * sharp (librsvg, with the system's fonts). sharp is imported on use, so `mindeye --help` never loads it.
 */

export const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";
export const INK = "#1f2328";
export const MUTED = "#6e7781";
export const HIT = "#1a7f37";
export const MISS = "#cf222e";

/** Text as SVG character data. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** At most `max` characters, the rest replaced by an ellipsis: one long id must not run into the next column. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}

/**
 * The largest font size up to `size` at which `content` fits in `width` pixels, by DejaVu Sans's average
 * advance (about 0.62 em, bold 0.68): a long title shrinks instead of running off the page.
 */
export function fittedSize(content: string, size: number, width: number, bold = false): number {
  const advance = bold ? 0.68 : 0.62;
  return Math.max(9, Math.min(size, Math.floor(width / (advance * Math.max(1, content.length)))));
}

export function text(
  x: number,
  y: number,
  content: string,
  style: { size: number; weight?: "bold"; fill?: string; anchor?: "start" | "middle" | "end" },
): string {
  return (
    `<text x="${x}" y="${y}" font-family="${FONT}" font-size="${style.size}" fill="${style.fill ?? INK}"` +
    ` text-anchor="${style.anchor ?? "start"}"${style.weight ? ` font-weight="${style.weight}"` : ""}>` +
    `${escapeXml(content)}</text>`
  );
}

/**
 * An image scaled to a `size` square tile (nearest neighbour at whole multiples keeps small stimuli crisp),
 * or a grey tile saying why there is none when `png` is null or does not decode.
 */
export async function tile(x: number, y: number, size: number, png: Uint8Array | null): Promise<string> {
  const { default: sharp } = await import("sharp");
  const scaled = png
    ? await sharp(png)
        .resize(size, size, { kernel: "nearest", fit: "fill" })
        .png()
        .toBuffer()
        .catch(() => null)
    : null;
  if (!scaled) {
    return (
      `<rect x="${x}" y="${y}" width="${size}" height="${size}" fill="#eaeef2"/>` +
      text(x + size / 2, y + size / 2 + 4, "no image", { size: 12, fill: MUTED, anchor: "middle" })
    );
  }
  return `<image x="${x}" y="${y}" width="${size}" height="${size}" xlink:href="data:image/png;base64,${scaled.toString("base64")}"/>`;
}

export function frame(x: number, y: number, size: number, colour: string, width = 4): string {
  const o = width / 2;
  return `<rect x="${x - o}" y="${y - o}" width="${size + width}" height="${size + width}" fill="none" stroke="${colour}" stroke-width="${width}"/>`;
}

/** The SVG body on a white page of `width` x `height`, as PNG bytes. */
export async function renderPng(width: number, height: number, body: string[]): Promise<Buffer> {
  const { default: sharp } = await import("sharp");
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}">` +
    `<rect width="100%" height="100%" fill="#ffffff"/>${body.join("")}</svg>`;
  return sharp(Buffer.from(svg)).png({ compressionLevel: 9, palette: true, quality: 90 }).toBuffer();
}
