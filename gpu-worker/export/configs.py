"""Widths of the MindEye1 modules: `full` is the published model, `tiny` the same graph at toy widths for tests."""

from dataclasses import dataclass
from typing import Tuple

# nsdgeneral voxel counts per NSD subject (reference §1.3); MindEye1 checkpoints exist for 1, 2, 5 and 7.
NSD_VOXELS = {1: 15724, 2: 14278, 3: 15226, 4: 13153, 5: 13039, 6: 17907, 7: 12682, 8: 14386}


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
)


def mindeye1_config(config: str, subject: int) -> MindEye1Config:
    if config == "tiny":
        return TINY
    if subject not in NSD_VOXELS:
        raise ValueError(f"unknown NSD subject {subject}; expected one of {sorted(NSD_VOXELS)}")
    return MindEye1Config(name="full", voxels=NSD_VOXELS[subject])
