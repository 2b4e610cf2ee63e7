import { ApiError } from "../../contracts/errors.ts";

export type MetadataRow = Record<string, unknown>;
export type RowPredicate = (row: MetadataRow) => boolean;

const EXPRESSION = /^\s*([A-Za-z_][\w.]*)\s*(<=|>=|!=|=|<|>| in )\s*(.+?)\s*$/;

/**
 * One `--where` expression on a metadata column: `punsafe<0.5`, `pwatermark<=0.8`, `NSFW=UNLIKELY`,
 * `NSFW in UNLIKELY,UNSURE`, `NSFW!=NSFW`. A row whose column is missing or null fails the condition,
 * so an unsafe-score filter never lets an unscored row through.
 */
export function parseWhere(expression: string): RowPredicate {
  const match = EXPRESSION.exec(expression);
  if (!match) {
    throw new ApiError(
      "invalid_request",
      `--where "${expression}" is not COLUMN OP VALUE (OP one of = != < <= > >= in), e.g. "punsafe<0.5" or "NSFW in UNLIKELY,UNSURE"`,
    );
  }
  const [, column, rawOp, rawValue] = match as unknown as [string, string, string, string];
  const op = rawOp.trim();
  const value = unquote(rawValue);
  if (op === "in") {
    const allowed = new Set(value.split(",").map((v) => unquote(v.trim())));
    return (row) => row[column] != null && allowed.has(String(row[column]));
  }
  if (op === "=" || op === "!=") {
    const equal = (cell: unknown) =>
      typeof cell === "number" || typeof cell === "bigint"
        ? Number(cell) === Number(value)
        : String(cell) === value;
    return op === "="
      ? (row) => row[column] != null && equal(row[column])
      : (row) => row[column] != null && !equal(row[column]);
  }
  const bound = Number(value);
  if (!Number.isFinite(bound))
    throw new ApiError("invalid_request", `--where "${expression}": ${op} needs a number`);
  const compare = {
    "<": (a: number) => a < bound,
    "<=": (a: number) => a <= bound,
    ">": (a: number) => a > bound,
    ">=": (a: number) => a >= bound,
  }[op]!;
  return (row) => {
    const cell = row[column];
    return (typeof cell === "number" || typeof cell === "bigint") && compare(Number(cell));
  };
}

/** All expressions must hold. */
export function parseWhereAll(expressions: readonly string[]): RowPredicate {
  const predicates = expressions.map(parseWhere);
  return (row) => predicates.every((p) => p(row));
}

function unquote(value: string): string {
  return /^(['"]).*\1$/.test(value) ? value.slice(1, -1) : value;
}
