"""torch -> ONNX files: export at opset 17 with a symbolic batch dim, optional float16 weights, external data."""

import os
import tempfile
from typing import Dict, List

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# Past this many bytes of weights the graph goes to a `.onnx.data` file: protobuf caps a file at 2 GB, and
# a small .onnx lets the bundle loader read the graph's signature without reading the weights.
EXTERNAL_DATA_BYTES = 1 << 30


def export_onnx(
    module: torch.nn.Module,
    inputs: Dict[str, torch.Tensor],
    output_names: List[str],
    shapes: Dict[str, List],
    out_dir: str,
    name: str,
    fp16: bool,
) -> List[str]:
    """Write `name.onnx` (and `name.onnx.data` when large) into out_dir; returns the file names written.
    `shapes` gives every input and output its declared shape ("batch" symbolic, the rest fixed)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, name + ".onnx")
        torch.onnx.export(
            module,
            tuple(inputs.values()),
            raw,
            input_names=list(inputs),
            output_names=output_names,
            dynamic_axes={n: {0: "batch"} for n in [*inputs, *output_names]},
            opset_version=OPSET,
            do_constant_folding=True,
        )
        model = onnx.load(raw)  # also reads any external data torch split out for >2 GB graphs
    stamp_shapes(model, shapes)
    if fp16:
        to_float16_weights(model)
    path = os.path.join(out_dir, name + ".onnx")
    if weight_bytes(model) < EXTERNAL_DATA_BYTES:
        onnx.save_model(model, path)
        return [name + ".onnx"]
    data = name + ".onnx.data"
    if os.path.exists(os.path.join(out_dir, data)):
        os.remove(os.path.join(out_dir, data))  # onnx appends to an existing data file
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data, size_threshold=1024)
    return [name + ".onnx", data]


def stamp_shapes(model: onnx.ModelProto, shapes: Dict[str, List]) -> None:
    """torch names the dims that pass through a Reshape (e.g. `Reshapebackbone_dim_1`) though they are fixed;
    write the known shapes so the graph's signature matches the manifest (ORT checks them against inference)."""
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        del dims[:]
        for size in shapes[value.name]:
            dim = dims.add()
            if isinstance(size, str):
                dim.dim_param = size
            else:
                dim.dim_value = size


def weight_bytes(model: onnx.ModelProto) -> int:
    return sum(len(t.raw_data) for t in model.graph.initializer)


def to_float16_weights(model: onnx.ModelProto) -> None:
    """Store weights and compute in float16, keeping float32 graph inputs and outputs (cast at the edges), so
    callers see the same interface as the float32 bundle. Assumes no subgraphs (none of these graphs has one)."""
    graph = model.graph
    # Resize takes its roi and scales as float32 whatever the data type
    keep_float32 = {name for node in graph.node if node.op_type == "Resize" for name in node.input[1:3]}
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT and init.name not in keep_float32:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
    for node in graph.node:
        if set(node.output) & keep_float32:
            continue
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float16), attr.t.name))
            elif node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
    del graph.value_info[:]
    casts_in = []
    for value in graph.input:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            inner = value.name + "_fp16"
            for node in graph.node:
                node.input[:] = [inner if i == value.name else i for i in node.input]
            casts_in.append(helper.make_node("Cast", [value.name], [inner], to=TensorProto.FLOAT16))
    for value in graph.output:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            inner = value.name + "_fp16"
            for node in graph.node:
                node.input[:] = [inner if i == value.name else i for i in node.input]
                node.output[:] = [inner if o == value.name else o for o in node.output]
            graph.node.append(helper.make_node("Cast", [inner], [value.name], to=TensorProto.FLOAT))
    for i, cast in enumerate(casts_in):
        graph.node.insert(i, cast)
