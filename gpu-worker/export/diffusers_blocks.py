"""Building blocks of diffusers 0.13's `Encoder`/`Decoder` (vae.py) and UNet resnets, with its state-dict key names.

Shared by the low-level model's upsampler, the SD VAE and the UNet. Every constructor takes `device` so a
full-width model can be built on `meta` for counting.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class ResnetBlock2D(nn.Module):
    """GroupNorm -> SiLU -> conv, (+ the projected time embedding), twice, with a 1x1 shortcut when widths differ."""

    def __init__(self, cin: int, cout: int, groups: int, eps: float = 1e-6, temb_channels=None, device=None):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps, device=device)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, device=device)
        self.time_emb_proj = nn.Linear(temb_channels, cout, device=device) if temb_channels else None
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps, device=device)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, device=device)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1, device=device) if cin != cout else None

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class SpatialSelfAttention(nn.Module):
    """diffusers 0.13 `AttentionBlock` with one head: attention over the H*W positions, residual."""

    def __init__(self, channels: int, groups: int, device=None):
        super().__init__()
        self.scale = 1.0 / math.sqrt(channels)  # one head, so the head dim is all channels
        self.group_norm = nn.GroupNorm(groups, channels, eps=1e-6, device=device)
        self.query = nn.Linear(channels, channels, device=device)
        self.key = nn.Linear(channels, channels, device=device)
        self.value = nn.Linear(channels, channels, device=device)
        self.proj_attn = nn.Linear(channels, channels, device=device)

    def forward(self, x):
        b, c, hgt, wid = x.shape
        h = self.group_norm(x).reshape(b, c, hgt * wid).transpose(1, 2)
        q, k, v = self.query(h), self.key(h), self.value(h)
        attn = torch.softmax(q @ k.transpose(1, 2) * self.scale, dim=-1)
        out = self.proj_attn(attn @ v).transpose(1, 2).reshape(b, c, hgt, wid)
        return out + x


class MidBlock(nn.Module):
    """`UNetMidBlock2D` as the VAE uses it: resnet, single-head self-attention, resnet."""

    def __init__(self, channels: int, groups: int, device=None):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(channels, channels, groups, device=device) for _ in range(2))
        self.attentions = nn.ModuleList([SpatialSelfAttention(channels, groups, device)])

    def forward(self, x):
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class Upsample2D(nn.Module):
    def __init__(self, channels: int, device=None):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, device=device)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Downsample2D(nn.Module):
    """Stride-2 3x3 conv. The VAE encoder's (`padding=0`) pads one zero row and column at the bottom and right
    first; the UNet's pads one on every side."""

    def __init__(self, channels: int, asymmetric: bool, device=None):
        super().__init__()
        self.asymmetric = asymmetric
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0 if asymmetric else 1, device=device)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)) if self.asymmetric else x)


class UpDecoderBlock(nn.Module):
    def __init__(self, cin: int, cout: int, layers: int, groups: int, upsample: bool, device=None):
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock2D(cin if i == 0 else cout, cout, groups, device=device) for i in range(layers)
        )
        self.upsamplers = nn.ModuleList([Upsample2D(cout, device)]) if upsample else None

    def forward(self, x):
        for resnet in self.resnets:
            x = resnet(x)
        return self.upsamplers[0](x) if self.upsamplers is not None else x


class DownEncoderBlock(nn.Module):
    def __init__(self, cin: int, cout: int, layers: int, groups: int, downsample: bool, device=None):
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock2D(cin if i == 0 else cout, cout, groups, device=device) for i in range(layers)
        )
        self.downsamplers = nn.ModuleList([Downsample2D(cout, True, device)]) if downsample else None

    def forward(self, x):
        for resnet in self.resnets:
            x = resnet(x)
        return self.downsamplers[0](x) if self.downsamplers is not None else x


class Decoder(nn.Module):
    """diffusers `Decoder`: conv_in, mid block, UpDecoderBlock2D per width (widest first, all but the last
    upsampling), GroupNorm, SiLU, conv_out. `resnets` per block is layers_per_block + 1."""

    def __init__(self, cin: int, cout: int, channels, resnets: int, groups: int, device=None):
        super().__init__()
        channels = list(channels)
        top = channels[-1]
        self.conv_in = nn.Conv2d(cin, top, 3, padding=1, device=device)
        self.mid_block = MidBlock(top, groups, device)
        blocks, previous = [], top
        for i, out in enumerate(reversed(channels)):
            blocks.append(UpDecoderBlock(previous, out, resnets, groups, i < len(channels) - 1, device))
            previous = out
        self.up_blocks = nn.ModuleList(blocks)
        self.conv_norm_out = nn.GroupNorm(groups, channels[0], eps=1e-6, device=device)
        self.conv_out = nn.Conv2d(channels[0], cout, 3, padding=1, device=device)

    def forward(self, x):
        x = self.mid_block(self.conv_in(x))
        for block in self.up_blocks:
            x = block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class Encoder(nn.Module):
    """diffusers `Encoder`: conv_in, DownEncoderBlock2D per width (all but the last downsampling), mid block,
    GroupNorm, SiLU, conv_out to 2 x latent channels (mean and log-variance: `double_z`)."""

    def __init__(self, cin: int, latent_channels: int, channels, resnets: int, groups: int, device=None):
        super().__init__()
        channels = list(channels)
        self.conv_in = nn.Conv2d(cin, channels[0], 3, padding=1, device=device)
        blocks, previous = [], channels[0]
        for i, out in enumerate(channels):
            blocks.append(DownEncoderBlock(previous, out, resnets, groups, i < len(channels) - 1, device))
            previous = out
        self.down_blocks = nn.ModuleList(blocks)
        self.mid_block = MidBlock(channels[-1], groups, device)
        self.conv_norm_out = nn.GroupNorm(groups, channels[-1], eps=1e-6, device=device)
        self.conv_out = nn.Conv2d(channels[-1], 2 * latent_channels, 3, padding=1, device=device)

    def forward(self, x):
        x = self.conv_in(x)
        for block in self.down_blocks:
            x = block(x)
        x = self.mid_block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))
