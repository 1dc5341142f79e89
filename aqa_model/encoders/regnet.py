"""RegNetY-002 with gate-shift modules: the per-frame encoder of MCoRe and of HP-MCoRe's code (method.md 3.8).

Both official repositories build this network the same way (MCoRe ``models/E2Emodel.py`` +
``models/shift.py`` + ``models/impl/gsm.py``, identical in HP-MCoRe at 6bce799):

1. timm's ``regnety_002`` (ImageNet weights), classifier replaced by the identity, so a frame
   gives the 368-d globally average-pooled feature;
2. then ``make_temporal_shift(..., is_gsm=True)`` wraps the FIRST convolution (``conv1``, the
   1x1 ConvNormAct) of EVERY block of the four stages in a gate-shift module (GSM, Sudhakaran
   et al. 2020) with ``n_div = 4``: the module's first ``fold`` input channels go through the
   GSM, the others pass unchanged, then the wrapped convolution runs. ``fold =
   ceil((C_in // 4) / 4) * 4`` (multiples of 4 because the GSM splits its channels in two
   halves and each half again in two).

The GSM on ``x`` (the ``fold`` channels, laid out (B, fold, T, H, W)): a gate
``g = tanh(Conv3d(ReLU(BN3d(x))))`` with a 3x3x3 grouped convolution (2 groups: fold/2 ->
1 channel each), so one gate map per half. Half 1 moves its gated part ``g1 * x1`` one frame
toward the past (frame t receives frame t+1's, the last frame zeros), half 2 moves ``g2 * x2``
one frame toward the future (frame t receives t-1's, the first frame zeros); the ungated rest
``x - g * x`` stays. Each half is then regrouped (viewed as (2, fold/4) channels and
transposed to (fold/4, 2)), which interleaves its channel order.

Initialisation as the code: the gate convolution's weight and bias are zero, so ``g = 0`` and
nothing moves in time at the start; BN3d has its defaults. The regrouping is a channel
permutation that happens whatever the gate is, so even at initialisation a GSM-wrapped
network does NOT reproduce the ImageNet network's features exactly (the code's behaviour,
kept: :func:`gsm_channel_order` gives the permutation).

Parameter names are timm's (``stem.conv.weight``, ``s3.b2.conv2.bn.running_var``,
``s1.b1.se.fc1.weight``, ``s2.b1.downsample.conv.weight`` ...) with the wrapped convolution
under ``conv1.net.`` and the GSM under ``conv1.gsm.`` as in the code's checkpoints, so
:mod:`fdpose.aqa_model.encoders.weights` maps a timm ``regnety_002`` state dict explicitly.
Sizes (RegNetY-002 + GSM): widths (24, 56, 152, 368), depths (1, 1, 4, 7), group width 8,
SE ratio 0.25 of the block input, stem 32: 2,815,598 parameters (timm's 2,793,996 without the
classifier + 21,602 in the 13 GSMs).
"""

from __future__ import annotations

import logging
import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from fdpose.aqa_model.encoders.weights import load_timm_regnet
from fdpose.errors import ConfigError

log = logging.getLogger(__name__)

#: RegNetY-002 (timm ``regnety_002``: w0 24, wa 36.44, wm 2.49, depth 13, group size 8, SE 0.25).
REGNETY_002 = {"widths": (24, 56, 152, 368), "depths": (1, 1, 4, 7), "group_width": 8, "stem": 32}


def gsm_fold(channels: int, n_div: int = 4) -> int:
    """Channels a gate-shift module takes from a ``channels``-wide input (the code's rule)."""
    return math.ceil((channels // n_div) / 4) * 4


def gsm_channel_order(fold: int) -> torch.Tensor:
    """(fold,) long: output channel c of a GSM comes from pre-regrouping channel ``order[c]``.

    Inside each half of ``fold / 2`` channels, channel ``i * fold/4 + j`` moves to ``2 j + i``.
    """
    half, quarter = fold // 2, fold // 4
    within = torch.arange(half).view(2, quarter).t().reshape(-1)  # new position -> old position
    return torch.cat([within, within + half])


class ConvBN(nn.Module):
    """Conv2d (no bias) + BatchNorm2d (+ ReLU): timm's ConvNormAct, keys ``conv.*`` and ``bn.*``.

    x (N, C_in, H, W) -> (N, C_out, H', W').
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 1, stride: int = 1, groups: int = 1,
                 relu: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, groups=groups,
                              bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = relu

    @property
    def in_channels(self) -> int:
        return self.conv.in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return F.relu(x) if self.relu else x


class GateShift(nn.Module):
    """Gate-shift module on ``fold`` channels: x (B*T, fold, H, W) -> same shape (module docstring)."""

    def __init__(self, fold: int) -> None:
        super().__init__()
        if fold < 4 or fold % 4:
            raise ConfigError(f"gate-shift fold must be a positive multiple of 4, got {fold}")
        self.fold = fold
        self.bn = nn.BatchNorm3d(fold)
        self.conv3D = nn.Conv3d(fold, 2, 3, padding=1, groups=2)  # timm/GSM key name kept: conv3D
        # the code starts every gate at exactly 0 (tanh(0)): nothing shifts until training moves it
        nn.init.zeros_(self.conv3D.weight)
        nn.init.zeros_(self.conv3D.bias)
        self.register_buffer("order", gsm_channel_order(fold), persistent=False)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        bt, c, h, w = x.shape
        b = bt // num_frames
        x = x.view(b, num_frames, c, h, w).transpose(1, 2)  # (B, fold, T, H, W)
        gate = torch.tanh(self.conv3D(F.relu(self.bn(x))))  # (B, 2, T, H, W)
        half = self.fold // 2
        x1, x2 = x[:, :half], x[:, half:]
        moved1, moved2 = gate[:, :1] * x1, gate[:, 1:] * x2
        # half 1: frame t takes frame t+1's gated part; half 2: frame t takes frame t-1's
        past = F.pad(moved1[:, :, 1:], (0, 0, 0, 0, 0, 1))
        future = F.pad(moved2[:, :, :-1], (0, 0, 0, 0, 1, 0))
        y = torch.cat([past + (x1 - moved1), future + (x2 - moved2)], dim=1)
        y = y.index_select(1, self.order)  # the code's regrouping of each half
        return y.transpose(1, 2).reshape(bt, c, h, w)


class ShiftedConv(nn.Module):
    """A block's first convolution behind a GSM on its first ``fold`` input channels (code's GatedShift).

    x (B*T, C_in, H, W) -> net(x with the GSM applied to channels [0, fold)).
    """

    def __init__(self, net: ConvBN, n_div: int = 4) -> None:
        super().__init__()
        self.fold = gsm_fold(net.in_channels, n_div)
        if not 4 <= self.fold <= net.in_channels:
            raise ConfigError(f"gate shift needs at least {max(self.fold, 4)} input channels, got {net.in_channels}")
        self.gsm = GateShift(self.fold)
        self.net = net

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        shifted = self.gsm(x[:, :self.fold], num_frames)
        return self.net(torch.cat([shifted, x[:, self.fold:]], dim=1))


class SqueezeExcite(nn.Module):
    """timm SEModule (keys ``fc1.*``, ``fc2.*``): x (N, C, H, W) -> x * sigmoid(fc2(relu(fc1(mean))))."""

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, reduced, 1)
        self.fc2 = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True)))
        return x * torch.sigmoid(self.fc2(s))


class YBlock(nn.Module):
    """RegNetY bottleneck (ratio 1): 1x1 -> grouped 3x3 (stride) -> SE -> 1x1, residual, ReLU.

    x (B*T, C_in, H, W) -> (B*T, C_out, H/s, W/s); ``gsm`` wraps conv1 in a gate shift.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, group_width: int, se_ratio: float,
                 gsm: bool, gsm_div: int = 4) -> None:
        super().__init__()
        groups = out_channels // min(group_width, out_channels)
        conv1 = ConvBN(in_channels, out_channels, 1)
        self.conv1: nn.Module = ShiftedConv(conv1, gsm_div) if gsm else conv1
        self.conv2 = ConvBN(out_channels, out_channels, 3, stride=stride, groups=groups)
        self.se = SqueezeExcite(out_channels, int(round(in_channels * se_ratio)))  # SE width from the block INPUT
        self.conv3 = ConvBN(out_channels, out_channels, 1, relu=False)
        self.downsample = (ConvBN(in_channels, out_channels, 1, stride=stride, relu=False)
                           if stride != 1 or in_channels != out_channels else None)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        y = self.conv1(x, num_frames) if isinstance(self.conv1, ShiftedConv) else self.conv1(x)
        y = self.conv3(self.se(self.conv2(y)))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class RegNetYGSM(nn.Module):
    """RegNetY trunk with optional gate shifts, global average pool: frames (B*T, 3, H, W) -> (B*T, widths[-1]).

    Stages are ``s1``..``s4`` holding blocks ``b1``.. (timm names). ``num_frames`` tells the gate
    shifts how the batch splits into videos (frames of one video consecutive, in time order).
    """

    def __init__(self, widths: Sequence[int] = REGNETY_002["widths"], depths: Sequence[int] = REGNETY_002["depths"],
                 group_width: int = REGNETY_002["group_width"], stem: int = REGNETY_002["stem"],
                 se_ratio: float = 0.25, gsm: bool = True, gsm_div: int = 4) -> None:
        super().__init__()
        if len(widths) != len(depths) or not widths:
            raise ConfigError(f"RegNet widths {tuple(widths)} and depths {tuple(depths)} must be non-empty, same length")
        self.stem = ConvBN(3, stem, 3, stride=2)
        cin = stem
        self.stage_names: list[str] = []
        for i, (width, depth) in enumerate(zip(widths, depths)):
            stage = nn.Sequential()
            for d in range(depth):
                stage.add_module(f"b{d + 1}", YBlock(cin, width, 2 if d == 0 else 1, group_width, se_ratio, gsm,
                                                     gsm_div))
                cin = width
            setattr(self, f"s{i + 1}", stage)
            self.stage_names.append(f"s{i + 1}")
        self.out_dim = cin
        self._init_like_timm()

    def _init_like_timm(self) -> None:
        # timm's RegNet init (the weights a random-init run starts from): conv N(0, sqrt(2 / fan_out)),
        # the last BN of every residual branch zero; the GSM gates keep their zero init (not Conv2d).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, YBlock):
                nn.init.zeros_(m.conv3.bn.weight)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        if x.shape[0] % num_frames:
            raise ValueError(f"batch of {x.shape[0]} frames is not a whole number of {num_frames}-frame videos")
        x = self.stem(x)
        for name in self.stage_names:
            for block in getattr(self, name):
                x = block(x, num_frames)
        return x.mean(dim=(2, 3))


def freeze_batchnorm(module: nn.Module) -> None:
    """Put every BatchNorm of ``module`` (2D and the GSMs' 3D) in eval mode: running statistics
    are used and not updated (the code's ``fix_bn``; their affine weights still train)."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


class RegNetGSMEncoder(nn.Module):
    """Per-frame RegNetY-002-GSM features: video (B, T, 3, H, W) -> (B, T, out_dim) (368 at full size).

    frozen_bn: BatchNorm stays in eval mode even under ``.train()`` (the code's ``fix_bn``).
    weights: a local timm ``regnety_002`` state dict (see :func:`weights.load_timm_regnet`).
    """

    def __init__(self, widths: Sequence[int] = REGNETY_002["widths"], depths: Sequence[int] = REGNETY_002["depths"],
                 group_width: int = REGNETY_002["group_width"], stem: int = REGNETY_002["stem"], gsm: bool = True,
                 frozen_bn: bool = False, weights: str | None = None) -> None:
        super().__init__()
        self.trunk = RegNetYGSM(widths, depths, group_width, stem, gsm=gsm)
        self.frozen_bn = frozen_bn
        self.out_dim = self.trunk.out_dim
        if weights:
            load_timm_regnet(self.trunk, weights)
        else:
            log.warning("static encoder: no RegNetY-002 weights given, random initialisation")

    def train(self, mode: bool = True) -> "RegNetGSMEncoder":
        super().train(mode)
        if mode and self.frozen_bn:
            freeze_batchnorm(self)
        return self

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        b, t = video.shape[:2]
        return self.trunk(video.flatten(0, 1), t).view(b, t, -1)
