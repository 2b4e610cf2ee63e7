/** Small helpers to write ONNX models with onnx-proto (IR 8, opset 13): float32 tensors, nodes, attributes. */
import pkg from "onnx-proto";

const { onnx } = pkg;
export type Dim = number | string;
export type NodeProto = pkg.onnx.INodeProto;
export type TensorProto = pkg.onnx.ITensorProto;

export function floatTensor(name: string, dims: number[], values: Float32Array | number[]): TensorProto {
  const data = Float32Array.from(values);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer) };
}

export const scalar = (name: string, value: number): TensorProto => floatTensor(name, [], [value]);

export function int64Tensor(name: string, values: number[]): TensorProto {
  const data = BigInt64Array.from(values.map(BigInt));
  return {
    name,
    dims: [values.length],
    dataType: onnx.TensorProto.DataType.INT64,
    rawData: new Uint8Array(data.buffer),
  };
}

export function floatInput(name: string, shape: Dim[]): pkg.onnx.IValueInfoProto {
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

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: pkg.onnx.IAttributeProto[] = [],
): NodeProto {
  return { opType, input: inputs, output: outputs, name: outputs[0], attribute: attributes };
}

export const ints = (name: string, values: number[]): pkg.onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints: values,
});
export const int = (name: string, value: number): pkg.onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i: value,
});
export const str = (name: string, value: string): pkg.onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.STRING,
  s: new TextEncoder().encode(value),
});
export const float = (name: string, value: number): pkg.onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.FLOAT,
  f: value,
});

/** Cast to int64 (TensorProto.INT64 = 7), e.g. a float timestep before a table lookup. */
export const castToInt64 = (input: string, output: string) =>
  node("Cast", [input], [output], [int("to", onnx.TensorProto.DataType.INT64)]);

export function model(
  name: string,
  graph: {
    initializer: TensorProto[];
    node: NodeProto[];
    input: pkg.onnx.IValueInfoProto[];
    output: pkg.onnx.IValueInfoProto[];
  },
): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    producerName: "mindeye-serve gpu-worker/test-graphs",
    graph: { name, ...graph },
  }).finish();
}
