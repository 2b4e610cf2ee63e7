import { ApiError, type ErrorCode } from "../contracts/errors.ts";

/**
 * Flattens JSON nested number arrays (C order) into float32, checking that they are rectangular and
 * that every leaf is a number. `code` is the error to raise: invalid_request for a body, invalid_file for a file.
 */
export function flattenNestedNumbers(
  nested: unknown,
  options: { code: ErrorCode; maxValues: number },
): { values: Float32Array; shape: number[] } {
  const shape: number[] = [];
  for (let level: unknown = nested; Array.isArray(level); level = level[0]) shape.push(level.length);
  const total = shape.reduce((product, dim) => product * dim, 1);
  if (shape.length === 0 || total === 0) {
    throw new ApiError(
      options.code,
      "Expected a non-empty nested array of numbers, e.g. [[0.1, -0.3, ...], ...].",
    );
  }
  if (total > options.maxValues) {
    throw new ApiError(
      "payload_too_large",
      `${total} values is more than the ${options.maxValues} allowed here. Upload a file.`,
    );
  }
  const values = new Float32Array(total);
  let next = 0;
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== "number") {
        throw new ApiError(options.code, `The value at ${path} is ${JSON.stringify(node)}, not a number.`);
      }
      values[next++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new ApiError(
        options.code,
        `The nested array is not rectangular: ${path} should be a list of ${shape[depth]} items, ` +
          `like the first one at that depth (shape (${shape.join(", ")})).`,
      );
    }
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${path}[${i}]`);
  };
  walk(nested, 0, "values");
  return { values, shape };
}
