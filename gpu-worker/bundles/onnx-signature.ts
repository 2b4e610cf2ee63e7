/**
 * Reads an ONNX graph's inputs and outputs from the file without loading its weights: the protobuf is walked
 * with positional reads, skipping initializer payloads and nodes, and only the small ValueInfo messages are
 * decoded (with onnx-proto). Opening an InferenceSession instead would read gigabytes of weights just to learn
 * a few names.
 */
import { type FileHandle, open } from "node:fs/promises";
import pkg from "onnx-proto";
import type { TensorDtype, TensorSpec } from "../../core/contracts/bundle-manifest.ts";

const { onnx } = pkg;

// ModelProto.graph, GraphProto.{initializer,input,output}, TensorProto.name
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const TENSOR_NAME = 8;

/** onnx.TensorProto.DataType numbers for the dtypes a manifest may name. */
const ELEM_TYPES: Record<number, TensorDtype> = { 1: "float32", 10: "float16", 7: "int64", 6: "int32" };

export interface OnnxSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

interface Field {
  number: number;
  wireType: number;
  /** For length-delimited fields: where the payload starts and ends. */
  start: number;
  end: number;
}

class ProtoFile {
  constructor(
    private readonly file: FileHandle,
    private readonly path: string,
  ) {}

  async bytes(start: number, end: number): Promise<Buffer> {
    const buffer = Buffer.alloc(end - start);
    const { bytesRead } = await this.file.read(buffer, 0, buffer.length, start);
    if (bytesRead !== buffer.length) throw new Error(`${this.path}: truncated at byte ${start + bytesRead}`);
    return buffer;
  }

  async varint(position: number): Promise<[value: number, next: number]> {
    const buffer = Buffer.alloc(10);
    const { bytesRead } = await this.file.read(buffer, 0, 10, position);
    let value = 0;
    for (let i = 0; i < bytesRead; i++) {
      value += (buffer[i]! & 0x7f) * 2 ** (7 * i);
      if ((buffer[i]! & 0x80) === 0) return [value, position + i + 1];
    }
    throw new Error(`${this.path}: bad varint at byte ${position}`);
  }

  /** The fields of the message occupying [start, end). */
  async *fields(start: number, end: number): AsyncGenerator<Field> {
    let position = start;
    while (position < end) {
      const [tag, afterTag] = await this.varint(position);
      const number = Math.floor(tag / 8);
      const wireType = tag % 8;
      if (wireType === 0) {
        const [, next] = await this.varint(afterTag);
        yield { number, wireType, start: afterTag, end: next };
        position = next;
      } else if (wireType === 2) {
        const [length, payload] = await this.varint(afterTag);
        yield { number, wireType, start: payload, end: payload + length };
        position = payload + length;
      } else if (wireType === 1 || wireType === 5) {
        const size = wireType === 1 ? 8 : 4;
        yield { number, wireType, start: afterTag, end: afterTag + size };
        position = afterTag + size;
      } else {
        throw new Error(`${this.path}: unsupported protobuf wire type ${wireType} at byte ${position}`);
      }
    }
    if (position !== end) throw new Error(`${this.path}: message overruns its length at byte ${end}`);
  }
}

function toSpec(bytes: Buffer, path: string): TensorSpec {
  const info = onnx.ValueInfoProto.decode(bytes);
  const tensorType = info.type?.tensorType;
  const dtype = ELEM_TYPES[tensorType?.elemType ?? -1];
  if (!tensorType || !dtype) {
    throw new Error(
      `${path}: ${info.name} is not a tensor of a supported type (elem type ${tensorType?.elemType})`,
    );
  }
  const shape = (tensorType.shape?.dim ?? []).map((dim) =>
    dim.dimParam ? dim.dimParam : Number(dim.dimValue ?? 0),
  );
  return { name: info.name, dtype, shape };
}

export async function readOnnxSignature(path: string): Promise<OnnxSignature> {
  const file = await open(path, "r");
  try {
    const proto = new ProtoFile(file, path);
    const { size } = await file.stat();
    let graph: Field | undefined;
    for await (const field of proto.fields(0, size)) if (field.number === MODEL_GRAPH) graph = field;
    if (!graph) throw new Error(`${path}: no graph in the model`);
    const initializers = new Set<string>();
    const inputs: TensorSpec[] = [];
    const outputs: TensorSpec[] = [];
    for await (const field of proto.fields(graph.start, graph.end)) {
      if (field.number === GRAPH_INPUT) inputs.push(toSpec(await proto.bytes(field.start, field.end), path));
      if (field.number === GRAPH_OUTPUT)
        outputs.push(toSpec(await proto.bytes(field.start, field.end), path));
      if (field.number === GRAPH_INITIALIZER) {
        for await (const inner of proto.fields(field.start, field.end)) {
          if (inner.number === TENSOR_NAME) {
            initializers.add((await proto.bytes(inner.start, inner.end)).toString("utf8"));
            break;
          }
        }
      }
    }
    // Older exporters list weights among the inputs; they are not inputs a caller feeds.
    return { inputs: inputs.filter((i) => !initializers.has(i.name)), outputs };
  } finally {
    await file.close();
  }
}
