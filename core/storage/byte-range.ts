import { ApiError } from "../contracts/errors.ts";

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export function assertValidRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new ApiError(
      "invalid_request",
      `The byte range ${start}-${end} is not valid: it needs whole numbers with 0 <= start <= end.`,
    );
  }
}

export function rangeNotSatisfiable(start: number, size: number): ApiError {
  return new ApiError(
    "invalid_request",
    `The byte range starts at ${start}, past the end of the ${size}-byte object.`,
    { fields: { size } },
  );
}
