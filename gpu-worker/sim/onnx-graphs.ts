/**
 * sim01's embedding graphs, built in TypeScript with onnx-proto (IR 8, opset 13; the reconstruction
 * world's graphs are in recon/recon-graphs.ts):
 * - voxel2clip: the ridge fit in the backbone space, voxels [batch, V] -> backbone = reshape((voxels W + b) R)
 *   [batch, TOKENS, TOKEN_DIM], and the retrieval head, retrieval = flatten(backbone) R^T, L2-normalised (the
 *   `flatten_l2` space of the stand-in CLIP), MindEye1's contract (backbone-space.ts);
 * - clip_image: the stand-in CLIP (encoder.ts), image [batch, 3, H, W] in [0, 1] -> image_embeds
 *   [batch, TOKENS, TOKEN_DIM] (the bundle contract's output name).
 */
import pkg from "onnx-proto";
import { rotateRows } from "./backbone-space.ts";
import type { EncoderWeights } from "./encoder.ts";
import type { RidgeFit } from "./ridge.ts";
import { IMAGE_SIZE, PATCH_GRID, PATCH_SIZE, PATCH_VALUES, TOKEN_DIM, TOKENS } from "./sim01-spec.ts";

const { onnx } = pkg;
type Dim = number | string;

const OPSET = 13;
const IR_VERSION = 8;

function floatTensor(name: string, dims: number[], values: Float32Array): pkg.onnx.ITensorProto {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: Uint8Array.from(bytes) };
}

function int64Tensor(name: string, values: number[]): pkg.onnx.ITensorProto {
  const data = BigInt64Array.from(values.map(BigInt));
  return {
    name,
    dims: [values.length],
    dataType: onnx.TensorProto.DataType.INT64,
    rawData: new Uint8Array(data.buffer),
  };
}

function valueInfo(name: string, shape: Dim[]): pkg.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: shape.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: pkg.onnx.IAttributeProto[] = [],
): pkg.onnx.INodeProto {
  return { opType, input: inputs, output: outputs, name: outputs[0], attribute: attributes };
}

const ints = (name: string, values: number[]): pkg.onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints: values,
});
const int = (name: string, value: number): pkg.onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i: value,
});

function model(name: string, graph: Omit<pkg.onnx.IGraphProto, "name">): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: "mindeye-serve gpu-worker/sim",
    graph: { name, ...graph },
  }).finish();
}

/** [cols, rows] copy of a row-major [rows, cols] matrix: MatMul wants the weights as [in, out]. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c]!;
  return out;
}

export function voxel2clipGraph(fit: RidgeFit, voxels: number, rotation: Float64Array): Uint8Array {
  const outputs = TOKENS * TOKEN_DIM;
  const weights = Float32Array.from(rotateRows(fit.weights, voxels, rotation, outputs));
  const bias = Float32Array.from(rotateRows(fit.bias, 1, rotation, outputs));
  return model("sim01_voxel2clip", {
    initializer: [
      floatTensor("ridge_weights", [voxels, outputs], weights),
      floatTensor("ridge_bias", [outputs], bias),
      floatTensor(
        "retrieval_head",
        [outputs, outputs],
        transpose(Float32Array.from(rotation), outputs, outputs),
      ),
      int64Tensor("token_shape", [-1, TOKENS, TOKEN_DIM]),
      floatTensor("min_norm", [], Float32Array.of(1e-12)),
    ],
    node: [
      node("MatMul", ["voxels", "ridge_weights"], ["projected"]),
      node("Add", ["projected", "ridge_bias"], ["flat"]),
      node("Reshape", ["flat", "token_shape"], ["backbone"]),
      node("MatMul", ["flat", "retrieval_head"], ["head"]),
      node("ReduceL2", ["head"], ["head_norm_raw"], [ints("axes", [1]), int("keepdims", 1)]),
      node("Max", ["head_norm_raw", "min_norm"], ["head_norm"]),
      node("Div", ["head", "head_norm"], ["head_unit"]),
      node("Reshape", ["head_unit", "token_shape"], ["retrieval"]),
    ],
    input: [valueInfo("voxels", ["batch", voxels])],
    output: [
      valueInfo("backbone", ["batch", TOKENS, TOKEN_DIM]),
      valueInfo("retrieval", ["batch", TOKENS, TOKEN_DIM]),
    ],
  });
}

export function clipImageGraph(weights: EncoderWeights): Uint8Array {
  const patches = PATCH_GRID * PATCH_GRID;
  return model("sim01_clip_image", {
    initializer: [
      floatTensor("half", [], Float32Array.of(0.5)),
      int64Tensor("grid_shape", [-1, 3, PATCH_GRID, PATCH_SIZE, PATCH_GRID, PATCH_SIZE]),
      int64Tensor("patch_shape", [-1, patches, PATCH_VALUES]),
      floatTensor(
        "patch_projection",
        [PATCH_VALUES, TOKEN_DIM],
        transpose(weights.patch, TOKEN_DIM, PATCH_VALUES),
      ),
      floatTensor(
        "global_projection",
        [PATCH_VALUES, TOKEN_DIM],
        transpose(weights.global, TOKEN_DIM, PATCH_VALUES),
      ),
    ],
    node: [
      node("Sub", ["image", "half"], ["centred"]),
      // [b, c, py, y, px, x] -> [b, py, px, c, y, x]: each patch's values in (channel, row, column) order.
      node("Reshape", ["centred", "grid_shape"], ["grid"]),
      node("Transpose", ["grid"], ["patch_grid"], [ints("perm", [0, 2, 4, 1, 3, 5])]),
      node("Reshape", ["patch_grid", "patch_shape"], ["patches"]),
      node("MatMul", ["patches", "patch_projection"], ["patch_linear"]),
      node("Tanh", ["patch_linear"], ["patch_tokens"]),
      node("ReduceMean", ["patches"], ["mean_patch"], [ints("axes", [1]), int("keepdims", 1)]),
      node("MatMul", ["mean_patch", "global_projection"], ["global_linear"]),
      node("Tanh", ["global_linear"], ["global_token"]),
      node("Concat", ["global_token", "patch_tokens"], ["image_embeds"], [int("axis", 1)]),
    ],
    input: [valueInfo("image", ["batch", 3, IMAGE_SIZE, IMAGE_SIZE])],
    output: [valueInfo("image_embeds", ["batch", TOKENS, TOKEN_DIM])],
  });
}
