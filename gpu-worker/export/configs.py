"""Widths of the MindEye1 modules: `full` is the published model, `tiny` the same graph at toy widths for tests."""

from dataclasses import dataclass, field, replace
from typing import Tuple

# nsdgeneral voxel counts per NSD subject (reference §1.3); MindEye1 checkpoints exist for 1, 2, 5 and 7.
NSD_VOXELS = {1: 15724, 2: 14278, 3: 15226, 4: 13153, 5: 13039, 6: 17907, 7: 12682, 8: 14386}


@dataclass(frozen=True)
class UNetConfig:
    """Versatile Diffusion's image_unet (an SD-1.x UNet2DConditionModel), reference §4.1."""

    block_out_channels: Tuple[int, ...] = (320, 640, 1280, 1280)
    layers_per_block: int = 2
    heads: int = 8  # diffusers 0.13's `attention_head_dim` is the number of heads
    cross_attention_dim: int = 768
    groups: int = 32
    in_channels: int = 4
    sample_size: int = 64

    @property
    def time_embed_dim(self) -> int:
        return 4 * self.block_out_channels[0]


@dataclass(frozen=True)
class VAEConfig:
    """The kl-f8 AutoencoderKL of VD's `vae/`, reference §4.3; every block but the last halves the side."""

    block_out_channels: Tuple[int, ...] = (128, 256, 512, 512)
    layers_per_block: int = 2
    groups: int = 32
    latent_channels: int = 4
    image_size: int = 512

    @property
    def latent_size(self) -> int:
        return self.image_size // 2 ** (len(self.block_out_channels) - 1)


@dataclass(frozen=True)
class CLIPVisionConfig:
    """openai/clip-vit-large-patch14's vision tower with its projection, reference §4.4."""

    hidden: int = 1024
    intermediate: int = 4096
    heads: int = 16
    layers: int = 24
    patch: int = 14
    image_size: int = 224  # the tower's input after the bicubic resize
    projection_dim: int = 768
    input_size: int = 512  # the square images the graph takes (the VAE decoder's output)

    @property
    def tokens(self) -> int:
        return (self.image_size // self.patch) ** 2 + 1


@dataclass(frozen=True)
class MindEye1Config:
    name: str
    voxels: int
    # BrainNetwork (voxel2clip): backbone MLP, then a per-token projector for retrieval
    hidden: int = 4096
    blocks: int = 4
    clip_tokens: int = 257
    clip_dim: int = 768
    projector_hidden: int = 2048
    # diffusion prior network (one denoising step)
    prior_depth: int = 6
    prior_heads: int = 12
    prior_dim_head: int = 64
    prior_ff_mult: int = 4
    # low-level Voxel2StableDiffusionModel
    lowlevel_hidden: int = 4096
    lowlevel_blocks: int = 4
    lowlevel_channels: int = 64
    lowlevel_side: int = 16
    decoder_channels: Tuple[int, ...] = (64, 128, 256)
    decoder_groups: int = 32
    latent_channels: int = 4
    # the image decoder and the best-of-N embedder (Versatile Diffusion, SD VAE, CLIP ViT-L/14)
    unet: UNetConfig = field(default_factory=UNetConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    clip: CLIPVisionConfig = field(default_factory=CLIPVisionConfig)

    @property
    def latent_side(self) -> int:
        # every decoder block but the last doubles the side
        return self.lowlevel_side * 2 ** (len(self.decoder_channels) - 1)


TINY = MindEye1Config(
    name="tiny",
    voxels=40,
    hidden=32,
    blocks=2,
    clip_tokens=5,
    clip_dim=16,
    projector_hidden=24,
    prior_depth=2,
    prior_heads=2,
    prior_dim_head=8,
    prior_ff_mult=2,
    lowlevel_hidden=32,
    lowlevel_blocks=1,
    lowlevel_channels=8,
    lowlevel_side=4,
    decoder_channels=(8, 16, 16),
    decoder_groups=4,
    # latent side 16 everywhere, images 32x32 (a factor-2 VAE), 5 CLIP tokens of 16 (2x2 patches + class)
    unet=UNetConfig(block_out_channels=(4, 8, 8, 8), heads=2, cross_attention_dim=16, groups=2, sample_size=16),
    vae=VAEConfig(block_out_channels=(8, 16), groups=4, image_size=32),
    clip=CLIPVisionConfig(hidden=16, intermediate=32, heads=2, layers=2, patch=4, image_size=8, projection_dim=16, input_size=32),
)

FAMILIES = ("mindeye1", "mindeye1-1x768")


def family_config(cfg: MindEye1Config, family: str) -> MindEye1Config:
    """The 1x768 model (`prior_1x768_final_subj0X...`) is voxel2clip with one 768-d token out (reference §2.7)."""
    return replace(cfg, clip_tokens=1) if family == "mindeye1-1x768" else cfg


def mindeye1_config(config: str, subject: int) -> MindEye1Config:
    if config == "tiny":
        return TINY
    if subject not in NSD_VOXELS:
        raise ValueError(f"unknown NSD subject {subject}; expected one of {sorted(NSD_VOXELS)}")
    return MindEye1Config(name="full", voxels=NSD_VOXELS[subject])
