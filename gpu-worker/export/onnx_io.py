"""torch -> ONNX files: export at opset 17 with a symbolic batch dim, optional float16 weights, external data."""

import os
import tempfile
from typing import Dict, List

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, mapping, numpy_helper

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
    large = sum(t.numel() * t.element_size() for t in module.state_dict().values()) >= EXTERNAL_DATA_BYTES
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
            # A large graph is exported without its weights, which are then streamed into the data file one
            # tensor at a time: torch's own export of a 3.4 GB UNet peaks past 17 GB of memory. ONNX Runtime
            # folds the weight transposes left in the graph when it opens the session.
            export_params=not large,
            do_constant_folding=not large,
        )
        model = onnx.load(raw)
    if large:
        return write_with_external_weights(model, module, list(inputs), shapes, out_dir, name, fp16)
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


def write_with_external_weights(model, module, input_names, shapes, out_dir: str, name: str, fp16: bool) -> List[str]:
    """Turn the parameter inputs of a graph exported with export_params=False (named by their state-dict keys)
    into initializers stored in `name.onnx.data`, written tensor by tensor; float16 weights when `fp16`."""
    graph, state = model.graph, module.state_dict()
    parameters = [v for v in graph.input if v.name not in input_names]
    inputs = [v for v in graph.input if v.name in input_names]
    del graph.input[:]
    graph.input.extend(inputs)
    data = name + ".onnx.data"
    offset = 0
    with open(os.path.join(out_dir, data), "wb") as f:
        for value in parameters:
            array = state[value.name].detach().cpu().numpy()
            if fp16 and array.dtype == np.float32:
                array = array.astype(np.float16)
            tensor = onnx.TensorProto(name=value.name, dims=array.shape, data_type=mapping.NP_TYPE_TO_TENSOR_TYPE[array.dtype])
            tensor.data_location = TensorProto.EXTERNAL
            for key, entry in (("location", data), ("offset", str(offset)), ("length", str(array.nbytes))):
                tensor.external_data.add(key=key, value=entry)
            f.write(array.tobytes())
            offset += array.nbytes
            graph.initializer.append(tensor)
    stamp_shapes(model, shapes)
    if fp16:
        to_float16_weights(model)  # the weights are float16 already; this casts the graph's edges and constants
    onnx.save_model(model, os.path.join(out_dir, name + ".onnx"))
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
        if init.data_type == TensorProto.FLOAT and init.name not in keep_float32 and not init.external_data:
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
    # Resize scales computed in the graph (not folded into a constant) came out float16: cast them back
    constants = {i.name for i in graph.initializer} | {o for n in graph.node if n.op_type == "Constant" for o in n.output}
    for index in reversed(range(len(graph.node))):
        node = graph.node[index]
        if node.op_type != "Resize":
            continue
        for slot in (1, 2):
            if slot < len(node.input) and node.input[slot] and node.input[slot] not in constants:
                inner = node.input[slot] + "_float32"
                graph.node.insert(index, helper.make_node("Cast", [node.input[slot]], [inner], to=TensorProto.FLOAT))
                node.input[slot] = inner
