"""numpy arrays to and from the API's wire forms: base64 tensors, .npy bodies and files."""

from __future__ import annotations

import base64
import io
from typing import Any, Mapping

import numpy as np


def tensor_of(array: Any) -> dict:
    """An array as the API's base64 tensor: little-endian float32, C order."""
    values = np.ascontiguousarray(np.asarray(array, dtype="<f4"))
    return {
        "base64": base64.b64encode(values.tobytes()).decode("ascii"),
        "dtype": "float32",
        "shape": list(values.shape),
    }


def array_of(tensor: Mapping[str, Any]) -> np.ndarray:
    """A tensor from a response (``{"values"}`` or ``{"base64", "dtype", "shape"}``) as an array."""
    if "values" in tensor:
        return np.asarray(tensor["values"], dtype=np.float32)
    dtype = np.dtype(tensor.get("dtype", "float32")).newbyteorder("<")
    data = np.frombuffer(base64.b64decode(tensor["base64"]), dtype=dtype)
    return data.reshape(tensor["shape"])


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def load_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)
