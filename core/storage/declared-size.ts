import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ApiError } from "../contracts/errors.ts";

function mismatch(declared: number, actual: string): ApiError {
  return new ApiError("invalid_request", `The body was declared as ${declared} bytes but ${actual}.`, {
    fields: { declared_size: declared },
  });
}

/**
 * Passes bytes through and fails the stream as soon as they exceed `declared`, or at the end if there
 * were fewer, so a put with a wrong size is refused before anything becomes visible.
 */
function enforceDeclaredSize(declared: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.byteLength;
      if (seen > declared) callback(mismatch(declared, "more arrived"));
      else callback(null, chunk);
    },
    flush(callback) {
      callback(seen === declared ? null : mismatch(declared, `only ${seen} arrived`));
    },
  });
}

/** `source` as is when no size was declared; otherwise a stream of its bytes that fails on a size mismatch. */
export function withDeclaredSize(source: Readable, declared: number | undefined): Readable {
  if (declared === undefined) return source;
  const checked = enforceDeclaredSize(declared);
  // pipeline destroys both streams on a failure at either end, so the reader of `checked` sees every error.
  pipeline(source, checked).catch(() => {});
  return checked;
}
