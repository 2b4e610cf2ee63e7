/**
 * The reconstruction demo's figure: a title with the model and the metric values against chance, then one
 * row per input: the seen image | the low-level model's blurry image | the best candidate by CLIP score |
 * a few other candidates, each with its CLIP score (the best's framed and with its PixCorr).
 */
import { clip, fittedSize, frame, HIT, MUTED, renderPng, text, tile } from "./svg-figure.ts";

export interface ReconstructionFigureRow {
  seenId: string;
  seen: Uint8Array | null;
  blurry: Uint8Array | null;
  best: { png: Uint8Array | null; clipScore: number; pixCorr?: number };
  /** Other candidates, best first; only as many as the figure has columns are drawn. */
  candidates: { png: Uint8Array | null; clipScore: number }[];
}

export interface ReconstructionFigure {
  title: string;
  /** Lines under the title: the metrics and their chance levels, the settings. */
  subtitle: string[];
  candidates: number;
  rows: ReconstructionFigureRow[];
}

const TILE = 128;
const MARGIN = 28;
const GAP = 14;
const SEPARATOR = 30;
const CAPTION = 40;
const ROW = TILE + CAPTION + 12;

const score = (value: number) => (Number.isFinite(value) ? value.toFixed(3) : "–");

export async function renderReconstructionFigure(figure: ReconstructionFigure): Promise<Buffer> {
  const candidates = Math.max(0, figure.candidates);
  const header = 70 + 22 * figure.subtitle.length + 34;
  // seen | blurry | best, a separator, then the candidates.
  const columnX = (c: number) => MARGIN + c * (TILE + GAP) + (c >= 3 ? SEPARATOR : 0);
  const width = columnX(3 + candidates) - GAP + MARGIN - (candidates ? 0 : SEPARATOR);
  const height = header + Math.max(1, figure.rows.length) * ROW + MARGIN / 2;
  const inner = width - 2 * MARGIN;
  const body: string[] = [
    text(MARGIN, 38, figure.title, { size: fittedSize(figure.title, 22, inner, true), weight: "bold" }),
    ...figure.subtitle.map((line, i) =>
      text(MARGIN, 66 + 22 * i, line, { size: fittedSize(line, 15, inner), fill: MUTED }),
    ),
  ];
  const headers = [
    "seen",
    "blurry",
    "best",
    ...Array.from({ length: candidates }, (_, i) => `CLIP rank ${i + 2}`),
  ];
  for (const [c, label] of headers.entries()) {
    body.push(
      text(columnX(c) + TILE / 2, header - 12, label, { size: 14, weight: "bold", anchor: "middle" }),
    );
  }
  if (candidates) {
    const x = columnX(3) - GAP / 2 - SEPARATOR / 2;
    body.push(
      `<line x1="${x}" y1="${header - 30}" x2="${x}" y2="${height - MARGIN / 2}" stroke="#d0d7de" stroke-width="2"/>`,
    );
  }
  if (figure.rows.length === 0)
    body.push(text(MARGIN, header + 40, "no reconstructions to show", { size: 15, fill: MUTED }));
  for (const [r, row] of figure.rows.entries()) {
    const y = header + r * ROW;
    const below = (c: number, line: number, content: string, style: { fill?: string; bold?: boolean } = {}) =>
      text(columnX(c) + TILE / 2, y + TILE + 18 + 17 * line, content, {
        size: line ? 12 : 13,
        anchor: "middle",
        fill: style.fill ?? (line ? MUTED : undefined),
        ...(style.bold ? { weight: "bold" as const } : {}),
      });
    body.push(await tile(columnX(0), y, TILE, row.seen), below(0, 0, clip(row.seenId, 16)));
    body.push(await tile(columnX(1), y, TILE, row.blurry), below(1, 0, "low-level"));
    body.push(
      await tile(columnX(2), y, TILE, row.best.png),
      frame(columnX(2), y, TILE, HIT, 5),
      below(2, 0, `CLIP ${score(row.best.clipScore)}`, { fill: HIT, bold: true }),
    );
    if (row.best.pixCorr !== undefined) body.push(below(2, 1, `PixCorr ${score(row.best.pixCorr)}`));
    for (const [c, candidate] of row.candidates.slice(0, candidates).entries()) {
      body.push(
        await tile(columnX(3 + c), y, TILE, candidate.png),
        below(3 + c, 0, `CLIP ${score(candidate.clipScore)}`),
      );
    }
  }
  return renderPng(width, height, body);
}
