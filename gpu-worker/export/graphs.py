"""The graphs of a MindEye1 bundle: which module each one exports, its inputs and outputs."""

from dataclasses import dataclass
from typing import Callable, Dict, List

import torch

from clip_vision import ClipImageEmbedder
from configs import MindEye1Config
from modules import BrainNetwork, PriorNetwork, Voxel2StableDiffusionModel
from unet import UNet2DConditionModel
from vae import VaeDecoder, VaeEncoder


@dataclass(frozen=True)
class GraphDef:
    build: Callable[[MindEye1Config, object], torch.nn.Module]
    inputs: Callable[[MindEye1Config], Dict[str, List[int]]]  # name -> shape after the batch dim
    outputs: Callable[[MindEye1Config], Dict[str, List[int]]]


def _tokens(cfg: MindEye1Config) -> List[int]:
    return [cfg.clip_tokens, cfg.clip_dim]


def _latent(cfg: MindEye1Config) -> List[int]:
    return [cfg.vae.latent_channels, cfg.vae.latent_size, cfg.vae.latent_size]


def _image(cfg: MindEye1Config) -> List[int]:
    return [3, cfg.vae.image_size, cfg.vae.image_size]


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
    "unet": GraphDef(
        build=lambda cfg, device: UNet2DConditionModel(cfg.unet, device),
        # timestep: the UniPC timestep (0..999) as float32; encoder_hidden_states: the 257 image tokens
        inputs=lambda cfg: {
            "sample": _latent(cfg),
            "timestep": [],
            "encoder_hidden_states": [cfg.clip_tokens, cfg.unet.cross_attention_dim],
        },
        outputs=lambda cfg: {"eps": _latent(cfg)},
    ),
    "vae_encoder": GraphDef(
        build=lambda cfg, device: VaeEncoder(cfg.vae, device),
        inputs=lambda cfg: {"image": _image(cfg)},
        outputs=lambda cfg: {"mean": _latent(cfg), "logvar": _latent(cfg)},
    ),
    "vae_decoder": GraphDef(
        build=lambda cfg, device: VaeDecoder(cfg.vae, device),
        inputs=lambda cfg: {"latent": _latent(cfg)},
        outputs=lambda cfg: {"image": _image(cfg)},
    ),
    "clip_image": GraphDef(
        build=lambda cfg, device: ClipImageEmbedder(cfg.clip, device),
        inputs=lambda cfg: {"image": [3, cfg.clip.input_size, cfg.clip.input_size]},
        outputs=lambda cfg: {"image_embeds": [cfg.clip.tokens, cfg.clip.projection_dim]},
    ),
}

# What each family's bundle holds: the 1x768 model is only a voxel2clip (its query serves web-scale retrieval).
FAMILY_GRAPHS = {
    "mindeye1": list(GRAPHS),
    "mindeye1-1x768": ["voxel2clip"],
}

# timesteps each graph is trained on (its input is an integer step in [0, range) as float32)
TIMESTEP_RANGE = {"prior": 100, "unet": 1000}


def random_inputs(name: str, cfg: MindEye1Config, batch: int, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    """Inputs of the kind each graph sees in service: z-scored voxels, Gaussian embeddings and latents,
    integer steps, images in [0, 1] for CLIP."""
    shapes = GRAPHS[name].inputs(cfg)
    inputs = {}
    for input_name, shape in shapes.items():
        if input_name == "timestep":
            inputs[input_name] = torch.randint(0, TIMESTEP_RANGE[name], (batch,), generator=generator).float()
        elif name == "clip_image":
            inputs[input_name] = torch.rand([batch, *shape], generator=generator)
        else:
            inputs[input_name] = torch.randn([batch, *shape], generator=generator)
    return inputs
