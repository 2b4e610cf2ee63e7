export { encodeNpy } from "./encode.ts";
export {
  encodeNpyHeader,
  frameNpyHeader,
  NPY_MAGIC,
  type NpyHeader,
  parseNpyHeader,
  readNpyHeader,
} from "./header.ts";
export { type Float32Npy, parseNpy, readNpy } from "./read.ts";
export { writeNpy } from "./write.ts";
