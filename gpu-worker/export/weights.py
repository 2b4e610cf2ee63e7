"""Published state dicts of the image decoder and CLIP (`.safetensors` or `.bin`), loaded by their own key names.

`.safetensors` is read here from the format itself (the library is not in Debian): 8 bytes of little-endian
header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}} and the raw little-endian
tensors, offsets counted from the end of the header. `.bin` is a pickle, read with torch's weights-only loader.
"""

import json
import os
import struct
from typing import Dict, Sequence

import torch
from torch import nn

SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
MAX_HEADER_BYTES = 100 << 20
# file names a diffusers or transformers folder keeps its weights under, in order of preference
WEIGHT_FILES = (
    "diffusion_pytorch_model.safetensors",
    "diffusion_pytorch_model.bin",
    "model.safetensors",
    "pytorch_model.bin",
)

# Keys of each graph's source that it does not use, by prefix: the VAE file holds both halves, and
# openai/clip-vit-large-patch14 is a whole CLIPModel (text tower, logit scale, a position-id buffer).
UNUSED_PREFIXES = {
    "unet": (),
    "vae_encoder": ("decoder.", "post_quant_conv."),
    "vae_decoder": ("encoder.", "quant_conv."),
    "clip_image": ("text_model.", "text_projection.", "logit_scale", "vision_model.embeddings.position_ids"),
}


class WeightsError(ValueError):
    pass


def read_safetensors(path: str) -> Dict[str, torch.Tensor]:
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise WeightsError(f"{path}: too short for a safetensors file ({size} bytes)")
        (header_bytes,) = struct.unpack("<Q", prefix)
        if header_bytes > min(MAX_HEADER_BYTES, size - 8):
            raise WeightsError(f"{path}: header length {header_bytes} does not fit the file ({size} bytes)")
        try:
            header = json.loads(f.read(header_bytes))
        except ValueError as error:
            raise WeightsError(f"{path}: header is not JSON ({error})") from error
        if not isinstance(header, dict):
            raise WeightsError(f"{path}: header is not a JSON object")
        data_start, data_bytes = 8 + header_bytes, size - 8 - header_bytes
        tensors = {}
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            dtype = SAFETENSORS_DTYPES.get(entry.get("dtype"))
            if dtype is None:
                raise WeightsError(f"{path}: {name} has dtype {entry.get('dtype')!r}; known: {sorted(SAFETENSORS_DTYPES)}")
            shape, (begin, end) = list(entry["shape"]), entry["data_offsets"]
            count = 1
            for dim in shape:
                count *= dim
            expected = count * torch.empty((), dtype=dtype).element_size()
            if not (0 <= begin <= end <= data_bytes) or end - begin != expected:
                raise WeightsError(
                    f"{path}: {name} {entry['dtype']}{shape} needs {expected} bytes, its offsets are [{begin}, {end}] "
                    f"of {data_bytes}"
                )
            f.seek(data_start + begin)
            raw = bytearray(f.read(end - begin))
            tensors[name] = (torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)).reshape(shape)
    return tensors


def weights_file(path: str) -> str:
    """A weights file itself, or the first of WEIGHT_FILES in a diffusers/transformers folder."""
    if not os.path.isdir(path):
        return path
    for name in WEIGHT_FILES:
        if os.path.isfile(os.path.join(path, name)):
            return os.path.join(path, name)
    raise WeightsError(f"{path} holds none of {', '.join(WEIGHT_FILES)}; pass the weights file itself")


def read_state_dict(path: str) -> Dict[str, torch.Tensor]:
    path = weights_file(path)
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    # a pickle: the weights-only loader refuses anything but tensors and plain containers
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path} is not a state dict (a flat mapping of names to tensors)")
    return state


def load_exact(module: nn.Module, state: Dict[str, torch.Tensor], source: str, unused: Sequence[str] = ()) -> None:
    """Copy every key of `module`'s state dict from `state`; fail naming each missing, misshapen or unexpected
    key (a key is expected when the module has it or it starts with one of `unused`)."""
    expected = module.state_dict()
    problems, mapped = [], {}
    for key, tensor in expected.items():
        found = state.get(key)
        if found is None:
            problems.append(f"missing {key}")
        elif tuple(found.shape) != tuple(tensor.shape):
            problems.append(f"{key}: shape {tuple(found.shape)} in the file, the model needs {tuple(tensor.shape)}")
        else:
            mapped[key] = found.float()
    unexpected = sorted(k for k in state if k not in expected and not k.startswith(tuple(unused)))
    problems += [f"unexpected {k}" for k in unexpected]
    if problems:
        shown = "; ".join(problems[:12]) + (f"; and {len(problems) - 12} more" if len(problems) > 12 else "")
        raise WeightsError(f"{source}: {shown}")
    module.load_state_dict(mapped, strict=True)
