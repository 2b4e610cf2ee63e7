"""Load the official MindEye1 checkpoints into the modules here, by their own key names.

`prior_257_final_subj0X_bimixco_softclip_byol/last.pth` holds `model_state_dict` of `BrainDiffusionPrior`:
`voxel2clip.*` (BrainNetwork) and `net.*` (the prior network), next to the noise schedule buffers.
`autoencoder_subj0X_4x_locont_no_reconst/epoch120.pth` holds the `Voxel2StableDiffusionModel` keys at the
top level, plus `maps_projector.*` (a training-only head). Keys saved from DistributedDataParallel carry
`module.`; that prefix is dropped.
"""

import sys
from typing import Dict

import torch
from torch import nn

PRIOR_CHECKPOINT_PREFIXES = {"voxel2clip": "voxel2clip.", "prior": "net."}
LOWLEVEL_CHECKPOINT_PREFIX = ""


def read_checkpoint(path: str) -> Dict[str, torch.Tensor]:
    # These files are pickles: convert them only from a trusted source (reference §6).
    checkpoint = torch.load(path, map_location="cpu")
    state = checkpoint.get("model_state_dict", checkpoint) if isinstance(checkpoint, dict) else checkpoint
    return {key.replace("module.", "", 1) if key.startswith("module.") else key: v for key, v in state.items()}


def load_by_prefix(module: nn.Module, state: Dict[str, torch.Tensor], prefix: str, source: str) -> None:
    """Copy `prefix + key` for every parameter of `module`; fail naming each missing or misshapen key."""
    expected = module.state_dict()
    problems, mapped = [], {}
    for key, tensor in expected.items():
        found = state.get(prefix + key)
        if found is None:
            problems.append(f"missing {prefix + key}")
        elif tuple(found.shape) != tuple(tensor.shape):
            problems.append(f"{prefix + key}: shape {tuple(found.shape)} in checkpoint, model needs {tuple(tensor.shape)}")
        else:
            mapped[key] = found.float()
    if problems:
        raise ValueError(f"{source}: " + "; ".join(problems))
    module.load_state_dict(mapped, strict=True)
    unused = sorted(k for k in state if k.startswith(prefix) and k[len(prefix) :] not in expected)
    if unused:
        shown = ", ".join(unused[:8]) + (" ..." if len(unused) > 8 else "")
        print(f"{source}: {len(unused)} keys under '{prefix}' not needed for inference: {shown}", file=sys.stderr)
