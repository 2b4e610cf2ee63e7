/**
 * The demo figures' structure: the page grows with rows and columns as laid out, rendering survives odd
 * inputs (no rows, fewer hits than columns, missing or undecodable images, NaN scores, long ids), and the
 * seen image is framed green at the rank where it appears and nowhere else. Pixels are read at layout
 * positions, never compared by hash.
 */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { renderReconstructionFigure } from "./reconstruction-figure.ts";
import { renderRetrievalFigure } from "./retrieval-figure.ts";

const solid = (r: number, g: number, b: number) =>
  sharp({ create: { width: 64, height: 64, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();

const pixel = async (png: Buffer, x: number, y: number) => {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * 3;
  return [data[i]!, data[i + 1]!, data[i + 2]!] as [number, number, number];
};

const size = async (png: Buffer) => {
  const { width, height, format } = await sharp(png).metadata();
  return { width, height, format };
};

// Layout constants of retrieval-figure.ts, as a reader of the figure sees them.
const TILE = 128;
const firstHitX = (c: number) => 28 + TILE + 36 + c * (TILE + 14);
const rowY = (subtitleLines: number, r: number) => 90 + 22 * subtitleLines + r * (TILE + 40 + 14);

describe("retrieval figure", () => {
  it("frames the seen image green at its rank and grows with rows and columns", async () => {
    const blue = await solid(20, 40, 200);
    const grey = await solid(128, 128, 128);
    const rows = [
      {
        seenId: "s1",
        seen: blue,
        hits: ["s9", "s8", "s1", "s7", "s6"].map((id) => ({
          id,
          score: 0.5,
          png: id === "s1" ? blue : grey,
        })),
      },
      {
        seenId: "s2",
        seen: blue,
        hits: ["s9", "s8", "s7", "s6", "s5"].map((id) => ({ id, score: 0.5, png: grey })),
      },
    ];
    const png = await renderRetrievalFigure({ title: "t", subtitle: ["a", "b"], k: 5, rows });
    const three = await renderRetrievalFigure({
      title: "t",
      subtitle: ["a", "b"],
      k: 5,
      rows: [...rows, rows[1]!],
    });
    const wider = await renderRetrievalFigure({ title: "t", subtitle: ["a", "b"], k: 7, rows });
    const [one, more, wide] = await Promise.all([size(png), size(three), size(wider)]);
    expect(one.format).toBe("png");
    expect(more.width).toBe(one.width);
    expect(more.height! - one.height!).toBe(TILE + 40 + 14);
    expect(wide.width! - one.width!).toBe(2 * (TILE + 14));
    // The frame sits 2 px outside the tile: green around rank 3 of row 0, white around every other tile.
    const frameAt = (r: number, c: number) => pixel(png, firstHitX(c) - 2, rowY(2, r) + TILE / 2);
    const [r, g, b] = await frameAt(0, 2);
    expect(g).toBeGreaterThan(r + 60);
    expect(g).toBeGreaterThan(b + 60);
    for (const [row, col] of [
      [0, 0],
      [0, 1],
      [0, 3],
      [1, 0],
      [1, 2],
    ] as const) {
      expect(await frameAt(row, col)).toEqual([255, 255, 255]);
    }
    // The tile itself is the candidate's image.
    const [tr, tg, tb] = await pixel(png, firstHitX(2) + TILE / 2, rowY(2, 0) + TILE / 2);
    expect(tb).toBeGreaterThan(tr + 100);
    expect(tb).toBeGreaterThan(tg + 100);
  });

  it("renders odd inputs: no rows, fewer hits than k, missing or broken images, NaN scores, long ids", async () => {
    const empty = await renderRetrievalFigure({ title: "nothing", subtitle: [], k: 5, rows: [] });
    expect((await size(empty)).height).toBeGreaterThan(100);
    const odd = await renderRetrievalFigure({
      title: "x".repeat(400),
      subtitle: ["<&> \"quoted\" 'text'"],
      k: 3,
      rows: [
        {
          seenId: "a".repeat(80),
          seen: null,
          hits: [{ id: "b", score: Number.NaN, png: new Uint8Array([1, 2, 3]) }],
        },
        { seenId: "c", seen: await solid(1, 2, 3), hits: [] },
      ],
    });
    expect(await size(odd)).toMatchObject({ format: "png", width: firstHitX(3) - 14 + 132 + 28 });
  });
});

describe("reconstruction figure", () => {
  it("draws seen | blurry | best | candidates, growing with candidates, and survives missing images", async () => {
    const img = await solid(200, 30, 30);
    const row = {
      seenId: "s0023",
      seen: img,
      blurry: null,
      best: { png: img, clipScore: 0.9, pixCorr: 0.7 },
      candidates: [0.8, 0.7, Number.NaN].map((clipScore) => ({
        png: clipScore > 0.75 ? img : null,
        clipScore,
      })),
    };
    const fig = (candidates: number, rows = [row]) =>
      renderReconstructionFigure({ title: "t", subtitle: ["metrics", "settings"], candidates, rows });
    const [three, five, none, empty] = await Promise.all([fig(3), fig(5), fig(0), fig(2, [])]);
    const [s3, s5, s0, se] = await Promise.all([size(three), size(five), size(none), size(empty)]);
    expect(s5.width! - s3.width!).toBe(2 * (TILE + 14));
    expect(s0.width!).toBeLessThan(s3.width!);
    expect(se.format).toBe("png");
    // The best tile is framed green (5 px frame, 2.5 px outside the tile).
    const bestX = 28 + 2 * (TILE + 14);
    const [r, g, b] = await pixel(three, bestX - 2, 70 + 22 * 2 + 34 + TILE / 2);
    expect(g).toBeGreaterThan(r + 60);
    expect(g).toBeGreaterThan(b + 60);
  });
});
