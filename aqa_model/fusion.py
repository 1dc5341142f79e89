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
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from fdpose.errors import ConfigError


class PoseGuidedFusion(nn.Module):
    """visual (B, L, d), pose (B, L, d_p) or None -> fused (B, L, d)."""

    def __init__(self, dim: int, pose_dim: int | None, heads: int = 2,
                 mode: Literal["weighted", "addition", "dot"] = "weighted", lambda_init: float = 0.5,
                 ffn_ratio: int = 4) -> None:
        super().__init__()
        if mode not in ("weighted", "addition", "dot"):
            raise ConfigError(f"unknown fusion mode {mode!r}")
        if dim % heads:
            raise ConfigError(f"fusion dim {dim} not divisible by {heads} heads")
        self.heads, self.mode = heads, mode
        self.q_v, self.k_v, self.v_v = (nn.Linear(dim, dim) for _ in range(3))
        self.q_p = nn.Linear(pose_dim, dim) if pose_dim else None
        self.k_p = nn.Linear(pose_dim, dim) if pose_dim else None
        if mode == "weighted":
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

    def _attention(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        q, k = self._split(q), self._split(k)
        return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)

    def attention_map(self, visual: torch.Tensor, pose: torch.Tensor | None) -> torch.Tensor:
        """The pose-guided attention A (B, heads, L, L) of Eq. 10."""
        a_v = self._attention(self.q_v(visual), self.k_v(visual))
        if pose is None or self.q_p is None or self.k_p is None:
            return a_v
        a_p = self._attention(self.q_p(pose), self.k_p(pose))
        if self.mode == "dot":
            a = a_v * a_p
            return a / a.sum(dim=-1, keepdim=True).clamp_min(1e-12)
        return a_v + self.pose_lambda * a_p

    def forward(self, visual: torch.Tensor, pose: torch.Tensor | None = None) -> torch.Tensor:
        b, n, d = visual.shape
        attn = self.attention_map(visual, pose)
        mixed = (attn @ self._split(self.v_v(visual))).transpose(1, 2).reshape(b, n, d)
        z = self.norm1(visual + self.out(mixed))
        return self.norm2(z + self.ffn(z))
