import { ApiError } from "../contracts/errors.ts";

/** One stored element type, described the way numpy spells it (`<i2`, `>f4`, `|u1`). */
export interface ElementType {
  kind: "i" | "u" | "f";
  bytes: 1 | 2 | 4 | 8;
  littleEndian: boolean;
}

export function describeElementType(type: ElementType): string {
  const order = type.bytes === 1 ? "|" : type.littleEndian ? "<" : ">";
  return `${order}${type.kind}${type.bytes}`;
}

const SUPPORTED = new Set(["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"]);

/** Parses a numpy `descr` such as `<f4`; anything that is not a plain number type is refused. */
export function parseNumpyDescr(descr: string): ElementType {
  if (descr.includes("O")) {
    throw new ApiError(
      "unsupported_format",
      "This .npy holds Python objects (dtype 'O', a pickle, as GLMsingle's np.save(results) writes). " +
        "Pickles can run arbitrary code, so they are never loaded. Re-save the betas array itself, " +
        "e.g. np.save('betas.npy', results['betasmd'].astype('float32')), or send NIfTI.",
    );
  }
  const match = /^([<>|=]?)([a-z])(\d+)$/.exec(descr);
  const code = match ? `${match[2]}${match[3]}` : "";
  if (!match || !SUPPORTED.has(code === "b1" ? "u1" : code)) {
    throw new ApiError(
      "unsupported_format",
      `The array's dtype '${descr}' is not a plain number type. Send float32 (or float16/float64, ` +
        "int8-64, uint8-64) values.",
    );
  }
  const kind = (code === "b1" ? "u" : match[2]) as ElementType["kind"];
  return { kind, bytes: Number(match[3]) as ElementType["bytes"], littleEndian: match[1] !== ">" };
}

/** A linear map applied to every stored value (NIfTI scl_slope/scl_inter). */
export interface Scaling {
  slope: number;
  inter: number;
}

let halfTable: Float32Array | undefined;

function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    halfTable[h] =
      exponent === 0
        ? sign * 2 ** -14 * (fraction / 1024)
        : exponent === 31
          ? fraction
            ? Number.NaN
            : sign * Number.POSITIVE_INFINITY
          : sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return halfTable;
}

type NumericView = ArrayLike<number> | BigInt64Array | BigUint64Array;

/**
 * A native-endian view of `bytes`, which must start at an offset aligned for the type and may be
 * changed: big-endian values are byte-swapped in place.
 */
function viewInPlace(bytes: Uint8Array, type: ElementType): NumericView {
  const swappable = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!type.littleEndian && type.bytes === 2) swappable.swap16();
  if (!type.littleEndian && type.bytes === 4) swappable.swap32();
  if (!type.littleEndian && type.bytes === 8) swappable.swap64();
  const { buffer, byteOffset } = bytes;
  const count = bytes.length / type.bytes;
  switch (`${type.kind}${type.bytes}`) {
    case "i1":
      return new Int8Array(buffer, byteOffset, count);
    case "u1":
      return new Uint8Array(buffer, byteOffset, count);
    case "i2":
      return new Int16Array(buffer, byteOffset, count);
    case "u2":
      return new Uint16Array(buffer, byteOffset, count);
    case "i4":
      return new Int32Array(buffer, byteOffset, count);
    case "u4":
      return new Uint32Array(buffer, byteOffset, count);
    case "i8":
      return new BigInt64Array(buffer, byteOffset, count);
    case "u8":
      return new BigUint64Array(buffer, byteOffset, count);
    case "f4":
      return new Float32Array(buffer, byteOffset, count);
    case "f8":
      return new Float64Array(buffer, byteOffset, count);
    default: {
      const table = halfToFloatTable();
      const halves = new Uint16Array(buffer, byteOffset, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[halves[i]!]!;
      return out;
    }
  }
}

/** Decodes stored elements into float32, applying the file's scaling (computed in float64, as nibabel does). */
export function decodeElements(bytes: Uint8Array, type: ElementType, scaling: Scaling | null): Float32Array {
  // copy: aligned at offset 0 and safe to swap in place
  return toFloat32(viewInPlace(Buffer.from(bytes), type), scaling);
}

/**
 * Decodes `staging` (bytes this caller owns, aligned at offset 0; swapped in place when big-endian)
 * into `out` from index `at`, with the same arithmetic as decodeElements.
 */
export function decodeOwnedInto(
  staging: Uint8Array,
  type: ElementType,
  scaling: Scaling | null,
  out: Float32Array,
  at: number,
): void {
  convertInto(viewInPlace(staging, type), scaling, out, at);
}

/** Converts any typed array (including the BigInt ones h5wasm returns for 64-bit integers) to float32. */
export function toFloat32(view: NumericView, scaling: Scaling | null): Float32Array {
  const out = new Float32Array(view.length);
  convertInto(view, scaling, out, 0);
  return out;
}

function convertInto(view: NumericView, scaling: Scaling | null, out: Float32Array, at: number): void {
  const count = view.length;
  if (view instanceof BigInt64Array || view instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) out[at + i] = Number(view[i]!);
    if (scaling) for (let i = 0; i < count; i++) out[at + i] = out[at + i]! * scaling.slope + scaling.inter;
  } else if (scaling) {
    for (let i = 0; i < count; i++) out[at + i] = view[i]! * scaling.slope + scaling.inter;
  } else {
    // TypedArray.set converts each element as an assignment would (float64 to float32 rounds the same way).
    out.set(view as Float32Array, at);
  }
}
