"""Versatile Diffusion's `image_unet`: a plain SD-1.x `UNet2DConditionModel` (diffusers 0.13 key names), one step.

At mix_ratio 0 MindEye's dual-guided UNet equals this UNet fed only the 257 image tokens (reconstruction
reference §4.1, §4.2): the text transformers' branch is multiplied by zero.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from configs import UNetConfig
from diffusers_blocks import Downsample2D, ResnetBlock2D, Upsample2D


class CrossAttention(nn.Module):
    """Multi-head attention without q/k/v bias; `context` None means self-attention. So an all-zero context
    gives K = V = 0 and the output is exactly `to_out`'s bias (reference §1.2)."""

    def __init__(self, dim: int, context_dim: int, heads: int, device=None):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.to_q = nn.Linear(dim, dim, bias=False, device=device)
        self.to_k = nn.Linear(context_dim, dim, bias=False, device=device)
        self.to_v = nn.Linear(context_dim, dim, bias=False, device=device)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim, device=device)])  # index 1 is dropout upstream

    def split_heads(self, x):
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, x, context=None):
        context = x if context is None else context
        q, k, v = self.split_heads(self.to_q(x)), self.split_heads(self.to_k(context)), self.split_heads(self.to_v(context))
        attn = torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(x.shape)
        return self.to_out[0](out)


class GEGLU(nn.Module):
    def __init__(self, dim: int, inner: int, device=None):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2, device=device)

    def forward(self, x):
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim: int, device=None):
        super().__init__()
        # index 1 is dropout upstream; keeping the indices keeps the checkpoint's key names
        self.net = nn.ModuleList([GEGLU(dim, 4 * dim, device), nn.Identity(), nn.Linear(4 * dim, dim, device=device)])

    def forward(self, x):
        for layer in self.net:
            x = layer(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim: int, context_dim: int, heads: int, device=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, device=device)
        self.attn1 = CrossAttention(dim, dim, heads, device)
        self.norm2 = nn.LayerNorm(dim, device=device)
        self.attn2 = CrossAttention(dim, context_dim, heads, device)
        self.norm3 = nn.LayerNorm(dim, device=device)
        self.ff = FeedForward(dim, device)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer2DModel(nn.Module):
    """GroupNorm -> 1x1 conv in -> one transformer block over the H*W positions -> 1x1 conv out, residual."""

    def __init__(self, channels: int, cfg: UNetConfig, device=None):
        super().__init__()
        self.norm = nn.GroupNorm(cfg.groups, channels, eps=1e-6, device=device)
        self.proj_in = nn.Conv2d(channels, channels, 1, device=device)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(channels, cfg.cross_attention_dim, cfg.heads, device)]
        )
        self.proj_out = nn.Conv2d(channels, channels, 1, device=device)

    def forward(self, x, context):
        b, c, hgt, wid = x.shape
        h = self.proj_in(self.norm(x)).reshape(b, c, hgt * wid).transpose(1, 2)
        for block in self.transformer_blocks:
            h = block(h, context)
        h = h.transpose(1, 2).reshape(b, c, hgt, wid)
        return self.proj_out(h) + x


class DownBlock(nn.Module):
    """CrossAttnDownBlock2D (with attentions) or DownBlock2D; returns the output and the skip states."""

    def __init__(self, cin: int, cout: int, cfg: UNetConfig, attention: bool, downsample: bool, device=None):
        super().__init__()
        temb = cfg.time_embed_dim
        self.resnets = nn.ModuleList(
            ResnetBlock2D(cin if i == 0 else cout, cout, cfg.groups, 1e-5, temb, device) for i in range(cfg.layers_per_block)
        )
        self.attentions = (
            nn.ModuleList(Transformer2DModel(cout, cfg, device) for _ in range(cfg.layers_per_block)) if attention else None
        )
        self.downsamplers = nn.ModuleList([Downsample2D(cout, False, device)]) if downsample else None

    def forward(self, x, temb, context):
        skips = []
        for i, resnet in enumerate(self.resnets):
            x = resnet(x, temb)
            if self.attentions is not None:
                x = self.attentions[i](x, context)
            skips.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            skips.append(x)
        return x, skips


class UpBlock(nn.Module):
    """CrossAttnUpBlock2D or UpBlock2D: layers_per_block + 1 resnets, each fed the next skip state."""

    def __init__(self, cin: int, cout: int, previous: int, cfg: UNetConfig, attention: bool, upsample: bool, device=None):
        super().__init__()
        layers, temb = cfg.layers_per_block + 1, cfg.time_embed_dim
        self.resnets = nn.ModuleList(
            ResnetBlock2D(
                (previous if i == 0 else cout) + (cin if i == layers - 1 else cout), cout, cfg.groups, 1e-5, temb, device
            )
            for i in range(layers)
        )
        self.attentions = nn.ModuleList(Transformer2DModel(cout, cfg, device) for _ in range(layers)) if attention else None
        self.upsamplers = nn.ModuleList([Upsample2D(cout, device)]) if upsample else None

    def forward(self, x, skips, temb, context):
        for i, resnet in enumerate(self.resnets):
            x = resnet(torch.cat((x, skips.pop()), dim=1), temb)
            if self.attentions is not None:
                x = self.attentions[i](x, context)
        return self.upsamplers[0](x) if self.upsamplers is not None else x


class MidBlockCrossAttn(nn.Module):
    def __init__(self, channels: int, cfg: UNetConfig, device=None):
        super().__init__()
        temb = cfg.time_embed_dim
        self.resnets = nn.ModuleList(ResnetBlock2D(channels, channels, cfg.groups, 1e-5, temb, device) for _ in range(2))
        self.attentions = nn.ModuleList([Transformer2DModel(channels, cfg, device)])

    def forward(self, x, temb, context):
        x = self.resnets[0](x, temb)
        return self.resnets[1](self.attentions[0](x, context), temb)


class TimestepEmbedding(nn.Module):
    def __init__(self, cin: int, dim: int, device=None):
        super().__init__()
        self.linear_1 = nn.Linear(cin, dim, device=device)
        self.linear_2 = nn.Linear(dim, dim, device=device)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


def timestep_features(timestep, channels: int):
    """diffusers `Timesteps(channels, flip_sin_to_cos=True, downscale_freq_shift=0)`: [cos | sin] of t * 10000^(-j/half)."""
    half = channels // 2
    # float64 then float32: the same constant whatever SIMD kernels this CPU's torch picks
    freqs = torch.exp(torch.arange(half, dtype=torch.float64) * -(math.log(10000) / half)).float()
    angles = timestep.float()[:, None] * freqs[None, :]
    return torch.cat((angles.cos(), angles.sin()), dim=-1)


class UNet2DConditionModel(nn.Module):
    """(sample [B,4,h,w], timestep [B] float, encoder_hidden_states [B,T,768]) -> predicted noise eps [B,4,h,w]."""

    def __init__(self, cfg: UNetConfig, device=None):
        super().__init__()
        channels, levels = list(cfg.block_out_channels), len(cfg.block_out_channels)
        self.time_channels = channels[0]
        self.conv_in = nn.Conv2d(cfg.in_channels, channels[0], 3, padding=1, device=device)
        self.time_embedding = TimestepEmbedding(channels[0], cfg.time_embed_dim, device)
        # SD-1.x: cross-attention in every down block but the last and every up block but the first
        downs, previous = [], channels[0]
        for i, out in enumerate(channels):
            downs.append(DownBlock(previous, out, cfg, i < levels - 1, i < levels - 1, device))
            previous = out
        self.down_blocks = nn.ModuleList(downs)
        self.mid_block = MidBlockCrossAttn(channels[-1], cfg, device)
        ups, reversed_channels = [], list(reversed(channels))
        previous = reversed_channels[0]
        for i, out in enumerate(reversed_channels):
            cin = reversed_channels[min(i + 1, levels - 1)]
            ups.append(UpBlock(cin, out, previous, cfg, i > 0, i < levels - 1, device))
            previous = out
        self.up_blocks = nn.ModuleList(ups)
        self.conv_norm_out = nn.GroupNorm(cfg.groups, channels[0], eps=1e-5, device=device)
        self.conv_out = nn.Conv2d(channels[0], cfg.in_channels, 3, padding=1, device=device)

    def forward(self, sample, timestep, encoder_hidden_states):
        temb = self.time_embedding(timestep_features(timestep, self.time_channels).to(sample.dtype))
        x = self.conv_in(sample)
        skips = [x]
        for block in self.down_blocks:
            x, block_skips = block(x, temb, encoder_hidden_states)
            skips.extend(block_skips)
        x = self.mid_block(x, temb, encoder_hidden_states)
        for block in self.up_blocks:
            x = block(x, skips, temb, encoder_hidden_states)
        return self.conv_out(F.silu(self.conv_norm_out(x)))
