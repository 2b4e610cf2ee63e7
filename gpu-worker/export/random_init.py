"""Seeded random weights for exports without a checkpoint (tests, benchmarks)."""

import torch
from torch import nn

from modules import GainLayerNorm


def perturb_norms(module: nn.Module, generator: torch.Generator) -> None:
    """Move norm gains and biases off 1 and 0, so parity checks would notice a swapped or ignored one."""
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, (nn.LayerNorm, nn.GroupNorm)):
                sub.weight.copy_(1 + 0.1 * torch.randn(sub.weight.shape, generator=generator))
                sub.bias.copy_(0.1 * torch.randn(sub.bias.shape, generator=generator))
            elif isinstance(sub, GainLayerNorm):
                sub.g.copy_(1 + 0.1 * torch.randn(sub.g.shape, generator=generator))
            elif isinstance(sub, nn.Embedding):
                sub.weight.copy_(torch.randn(sub.weight.shape, generator=generator))
