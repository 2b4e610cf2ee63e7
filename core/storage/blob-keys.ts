import { ApiError } from "../contracts/errors.ts";

/** S3's limit on key length; the local folder keeps the same rule so keys move between backends. */
const MAX_KEY_BYTES = 1024;

function segmentProblem(segment: string): string | undefined {
  if (segment === "") return "an empty segment (a leading, trailing or doubled '/')";
  if (segment === "." || segment === "..") return `a '${segment}' segment`;
  return undefined;
}

function characterProblem(text: string): string | undefined {
  if (text.startsWith("/")) return "a leading '/' (keys are relative)";
  if (text.includes("\\")) return "a backslash";
  if (text.includes("\0")) return "a NUL character";
  if (Buffer.byteLength(text) > MAX_KEY_BYTES) return `more than ${MAX_KEY_BYTES} bytes`;
  return undefined;
}

function invalid(what: string, text: string, problem: string): ApiError {
  return new ApiError(
    "invalid_request",
    `The blob ${what} ${JSON.stringify(text)} has ${problem}; use '/'-separated relative names without '.' or '..' segments.`,
  );
}

/**
 * Keys are '/'-separated relative paths. Rejecting '..', '.', empty segments, absolute paths and
 * backslashes keeps a key inside the local store's folder and makes it mean the same thing on S3.
 */
export function assertValidKey(key: string): void {
  const problem = characterProblem(key) ?? key.split("/").map(segmentProblem).find(Boolean);
  if (problem) throw invalid("key", key, problem);
}

/**
 * A list prefix may end anywhere ("uploads/ab" matches "uploads/abc/x"), so only the segments before
 * its last '/' must be whole, valid segments.
 */
export function assertValidPrefix(prefix: string): void {
  const wholeSegments = prefix.split("/").slice(0, -1);
  const problem = characterProblem(prefix) ?? wholeSegments.map(segmentProblem).find(Boolean);
  if (problem) throw invalid("prefix", prefix, problem);
}
