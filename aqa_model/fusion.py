"""Pose-guided multi-modal fusion, method.md 3.3 (paper Eq. 8-11), one module per stage.

Visual stage features X_v (B, L, d) and skeletal stage features X_p (B, L, d_p):

* Eq. 8:  Q_v, K_v, V_v = X_v W_q, X_v W_k, X_v W_v;   Q_p, K_p = X_p U_q, X_p U_k
* Eq. 9:  A_v = softmax(Q_v K_v^T / sqrt(d_h)),   A_p = softmax(Q_p K_p^T / sqrt(d_h))
* Eq. 10: A = A_v + lambda * A_p  (learnable scalar lambda; ``mode="weighted"``)
* Eq. 11: Z = LN(X_v + (A V_v) W_o);   out = LN(Z + FFN(Z))

per attention head (2 heads), d_h = d / heads. Ablation variants: ``"addition"`` uses
A = A_v + A_p (lambda fixed at 1) and ``"dot"`` the element-wise product A_v * A_p with each
row renormalised to sum to one. Without a pose input (HSE off) the block is plain
self-attention with A = A_v.

HP-MCoRe's code (``mode="logits"``, the ``hpmcore`` preset) adds the pose term to the LOGITS:

    A = softmax(Q_v K_v^T / sqrt(d_h) + w * (E E^T) / 64),   E = (0.01 X_p) U_e   (B, L, d)

the same pose term for every head, w learnable (initialised at 0.001 there), no Q_p / K_p. Its block is
pre-norm (``prenorm=True``): Z = X_v + (A V_v) W_o with A computed from LN(X_v); out = Z + FFN(LN(Z)),
and its Q / K / V projections have no bias (``qkv_bias=False``).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from fdpose.errors import ConfigError

#: HP-MCoRe's code scales the skeletal features by 0.01 before embedding them and divides E E^T by 64
POSE_INPUT_SCALE = 0.01
POSE_LOGIT_DIVISOR = 64.0


class PoseGuidedFusion(nn.Module):
    """visual (B, L, d), pose (B, L, d_p) or None -> fused (B, L, d)."""

    def __init__(self, dim: int, pose_dim: int | None, heads: int = 2,
                 mode: Literal["weighted", "addition", "dot", "logits"] = "weighted", lambda_init: float = 0.5,
                 ffn_ratio: int = 4, prenorm: bool = False, qkv_bias: bool = True) -> None:
        super().__init__()
        if mode not in ("weighted", "addition", "dot", "logits"):
            raise ConfigError(f"unknown fusion mode {mode!r}")
        if dim % heads:
            raise ConfigError(f"fusion dim {dim} not divisible by {heads} heads")
        self.heads, self.mode, self.prenorm = heads, mode, prenorm
        self.q_v, self.k_v, self.v_v = (nn.Linear(dim, dim, bias=qkv_bias) for _ in range(3))
        pair = pose_dim and mode != "logits"
        self.q_p = nn.Linear(pose_dim, dim) if pair else None
        self.k_p = nn.Linear(pose_dim, dim) if pair else None
        self.pose_embed = nn.Linear(pose_dim, dim) if (pose_dim and mode == "logits") else None
        if mode in ("weighted", "logits"):
            self.pose_lambda = nn.Parameter(torch.tensor(float(lambda_init)))
        else:
            self.register_buffer("pose_lambda", torch.tensor(1.0))
        self.out = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_ratio * dim), nn.GELU(), nn.Linear(ffn_ratio * dim, dim))
        self.norm2 = nn.LayerNorm(dim)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.heads, d // self.heads).transpose(1, 2)  # (B, h, L, d_h)

    def _logits(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        q, k = self._split(q), self._split(k)
        return q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])

    def _attention(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self._logits(q, k), dim=-1)

    def attention_map(self, visual: torch.Tensor, pose: torch.Tensor | None) -> torch.Tensor:
        """The pose-guided attention A (B, heads, L, L) of Eq. 10 (or the code's, ``mode="logits"``).

        visual: the block's (normalised, when pre-norm) visual input (B, L, d); pose (B, L, d_p).
        """
        if self.mode == "logits":
            logits = self._logits(self.q_v(visual), self.k_v(visual))
            if pose is not None and self.pose_embed is not None:
                e = self.pose_embed(pose * POSE_INPUT_SCALE)  # (B, L, d)
                logits = logits + self.pose_lambda * (e @ e.transpose(-2, -1) / POSE_LOGIT_DIVISOR).unsqueeze(1)
            return torch.softmax(logits, dim=-1)
        a_v = self._attention(self.q_v(visual), self.k_v(visual))
        if pose is None or self.q_p is None or self.k_p is None:
            return a_v
        a_p = self._attention(self.q_p(pose), self.k_p(pose))
        if self.mode == "dot":
            a = a_v * a_p
            return a / a.sum(dim=-1, keepdim=True).clamp_min(1e-12)
        return a_v + self.pose_lambda * a_p

    def _mix(self, x: torch.Tensor, pose: torch.Tensor | None) -> torch.Tensor:
        b, n, d = x.shape
        attn = self.attention_map(x, pose)
        return self.out((attn @ self._split(self.v_v(x))).transpose(1, 2).reshape(b, n, d))

    def forward(self, visual: torch.Tensor, pose: torch.Tensor | None = None) -> torch.Tensor:
        if self.prenorm:  # the code's PoseAttnNet: LN inside the residual branches, none after
            z = visual + self._mix(self.norm1(visual), pose)
            return z + self.ffn(self.norm2(z))
        z = self.norm1(visual + self._mix(visual, pose))
        return self.norm2(z + self.ffn(z))
