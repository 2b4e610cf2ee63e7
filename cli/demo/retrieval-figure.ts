/**
 * The retrieval demo's figure: a title with the top-1 accuracy and chance, then one row per trial: the
 * seen image, the k retrieved images in rank order with their ids and cosine scores, the seen image framed
 * green wherever it ranks, and at the row's end its rank or "not in top k".
 */
import { clip, fittedSize, frame, HIT, INK, MISS, MUTED, renderPng, text, tile } from "./svg-figure.ts";

export interface RetrievalFigureRow {
  seenId: string;
  /** The seen image's PNG; null draws a placeholder. */
  seen: Uint8Array | null;
  hits: { id: string; score: number; png: Uint8Array | null }[];
}

export interface RetrievalFigure {
  title: string;
  /** Lines under the title: what was searched, among what. */
  subtitle: string[];
  /** Columns of retrieved images (rows with fewer hits leave theirs empty). */
  k: number;
  rows: RetrievalFigureRow[];
}

const TILE = 128;
const MARGIN = 28;
const GAP = 14;
const SEPARATOR = 36;
const CAPTION = 40;
const ROW = TILE + CAPTION + 14;
const RANK_COLUMN = 132;

const scoreText = (score: number) => (Number.isFinite(score) ? score.toFixed(3) : "–");

export async function renderRetrievalFigure(figure: RetrievalFigure): Promise<Buffer> {
  const k = Math.max(1, figure.k);
  const firstHit = MARGIN + TILE + SEPARATOR;
  const width = firstHit + k * (TILE + GAP) - GAP + RANK_COLUMN + MARGIN;
  const header = 90 + 22 * figure.subtitle.length;
  const height = header + Math.max(1, figure.rows.length) * ROW + MARGIN / 2;
  const inner = width - 2 * MARGIN;
  const body: string[] = [
    text(MARGIN, 38, figure.title, { size: fittedSize(figure.title, 22, inner, true), weight: "bold" }),
    ...figure.subtitle.map((line, i) =>
      text(MARGIN, 64 + 22 * i, line, { size: fittedSize(line, 15, inner), fill: MUTED }),
    ),
    text(MARGIN + TILE / 2, header - 12, "seen", { size: 14, weight: "bold", anchor: "middle" }),
    `<line x1="${firstHit - SEPARATOR / 2}" y1="${header - 30}" x2="${firstHit - SEPARATOR / 2}" y2="${height - MARGIN / 2}" stroke="#d0d7de" stroke-width="2"/>`,
    text(firstHit + k * (TILE + GAP) + 8, header - 12, "seen image", { size: 14, weight: "bold" }),
  ];
  for (let c = 0; c < k; c++) {
    const x = firstHit + c * (TILE + GAP) + TILE / 2;
    body.push(text(x, header - 12, `rank ${c + 1}`, { size: 14, weight: "bold", anchor: "middle" }));
  }
  if (figure.rows.length === 0) {
    body.push(text(MARGIN, header + 40, "no trials to show", { size: 15, fill: MUTED }));
  }
  for (const [r, row] of figure.rows.entries()) {
    const y = header + r * ROW;
    body.push(await tile(MARGIN, y, TILE, row.seen));
    body.push(text(MARGIN + TILE / 2, y + TILE + 18, clip(row.seenId, 16), { size: 13, anchor: "middle" }));
    const rank = row.hits.slice(0, k).findIndex((h) => h.id === row.seenId);
    for (const [c, hit] of row.hits.slice(0, k).entries()) {
      const x = firstHit + c * (TILE + GAP);
      body.push(await tile(x, y, TILE, hit.png));
      const seen = c === rank;
      if (seen) body.push(frame(x, y, TILE, HIT, 5));
      body.push(
        text(x + TILE / 2, y + TILE + 18, clip(hit.id, 16), {
          size: 13,
          anchor: "middle",
          fill: seen ? HIT : INK,
          ...(seen ? { weight: "bold" as const } : {}),
        }),
        text(x + TILE / 2, y + TILE + 35, scoreText(hit.score), { size: 12, anchor: "middle", fill: MUTED }),
      );
    }
    const note = firstHit + k * (TILE + GAP) + 8;
    body.push(
      rank >= 0
        ? text(note, y + TILE / 2 + 6, `rank ${rank + 1}`, { size: 17, weight: "bold", fill: HIT })
        : text(note, y + TILE / 2 + 6, `not in top ${k}`, { size: 15, fill: MISS }),
    );
  }
  return renderPng(width, height, body);
}
