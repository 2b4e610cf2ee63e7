"""The graphs of a MindEye1 bundle: which module each one exports, its inputs and outputs."""

from dataclasses import dataclass
from typing import Callable, Dict, List

import torch

from configs import MindEye1Config
from modules import BrainNetwork, PriorNetwork, Voxel2StableDiffusionModel


@dataclass(frozen=True)
class GraphDef:
    build: Callable[[MindEye1Config, object], torch.nn.Module]
    inputs: Callable[[MindEye1Config], Dict[str, List[int]]]  # name -> shape after the batch dim
    outputs: Callable[[MindEye1Config], Dict[str, List[int]]]


def _tokens(cfg: MindEye1Config) -> List[int]:
    return [cfg.clip_tokens, cfg.clip_dim]


GRAPHS: Dict[str, GraphDef] = {
    "voxel2clip": GraphDef(
        build=BrainNetwork,
        inputs=lambda cfg: {"voxels": [cfg.voxels]},
        outputs=lambda cfg: {"backbone": _tokens(cfg), "retrieval": _tokens(cfg)},
    ),
    "lowlevel": GraphDef(
        build=Voxel2StableDiffusionModel,
        inputs=lambda cfg: {"voxels": [cfg.voxels]},
        outputs=lambda cfg: {"latent": [cfg.latent_channels, cfg.latent_side, cfg.latent_side]},
    ),
    "prior": GraphDef(
        build=PriorNetwork,
        # timestep: the DDPM step index (0..99) as float32, one per batch row
        inputs=lambda cfg: {"noisy_image_embed": _tokens(cfg), "timestep": [], "brain_embed": _tokens(cfg)},
        outputs=lambda cfg: {"pred_image_embed": _tokens(cfg)},
    ),
}


def random_inputs(name: str, cfg: MindEye1Config, batch: int, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    """Inputs of the kind each graph sees in service: z-scored voxels, Gaussian embeddings, integer steps."""
    shapes = GRAPHS[name].inputs(cfg)
    inputs = {}
    for input_name, shape in shapes.items():
        if input_name == "timestep":
            inputs[input_name] = torch.randint(0, 100, (batch,), generator=generator).float()
        else:
            inputs[input_name] = torch.randn([batch, *shape], generator=generator)
    return inputs
