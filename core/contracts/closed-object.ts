import { z } from "zod";

/**
 * An object schema for what clients send: an unknown field is an error (a misspelt `preprocesing` is
 * never silently dropped) whose message names it and, where one is close, the field meant.
 */
export function closedObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? unknownFields(issue.keys, known) : undefined),
  });
}

/** "unknown field top_k (did you mean k?); the fields are index, k, ..." */
export function unknownFields(unknown: readonly string[], known: readonly string[]): string {
  const named = unknown.map((field) => {
    const meant = closestField(field, known);
    return meant ? `${field} (did you mean ${meant}?)` : field;
  });
  return `unknown field${unknown.length > 1 ? "s" : ""} ${named.join(", ")}; the fields are ${known.join(", ")}`;
}

/** A known field within a few edits of `field`, or one of its words (`top_k` -> `k`, `numTrials` -> `trials`). */
export function closestField(field: string, known: readonly string[]): string | undefined {
  if (field.length > 64) return undefined;
  const lower = field.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= Math.max(1, Math.floor(name.length / 3)) && (!best || distance < best.distance))
      best = { name, distance };
  }
  if (best) return best.name;
  const words = field.split(/[_\-.\s]+|(?=[A-Z])/).map((w) => w.toLowerCase());
  return known.find((name) => words.includes(name.toLowerCase()));
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
