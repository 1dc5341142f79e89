"""Multi-stage contrastive regression, method.md 3.4 (paper Eq. 16-20).

For every branch b (``"motion"``: the fused pose-guided features, ``"static"``: the static
visual features) and stage k, a Transformer decoder lets the query stage attend to the
exemplar stage (cross-attention, 4 heads, pre-norm blocks as the public decoder):

    D_{b,k} = Decoder_{b,k}(Q = X^q_{b,k}, K = V = X^e_{b,k})              (B, L, d)
    delta_{b,k} = mean_L MLP_b(D_{b,k})                                      (B,)
    w = softmax(omega)   (learnable stage weights, sum to one)
    delta = mean_b sum_k w_k delta_{b,k};   S_q = S_e + delta

``MLP_b`` is a ReLU MLP per branch (d -> hidden -> hidden/4 -> 1; "two ReLU MLPs" for the two
branches). The public code normalises raw positive weights by their sum; softmax over free
logits gives the same simplex without a positivity constraint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, TypeVar

import torch
from torch import nn


class CrossAttentionBlock(nn.Module):
    """q <- q + MHA(LN(q), LN(m), LN(m)); q <- q + FFN(LN(q)). q (B, L, d), m (B, L', d).

    qkv_bias False: the q / k / v projections have no bias (the codes' decoder_fuser); the output
    projection keeps its bias either way.
    """

    def __init__(self, dim: int, heads: int, ffn_ratio: int = 4, qkv_bias: bool = True) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.norm_m = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        if not qkv_bias:  # nn.MultiheadAttention(bias=False) would drop the output bias too
            self.attn.register_parameter("in_proj_bias", None)
        self.norm_f = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_ratio * dim), nn.GELU(), nn.Linear(ffn_ratio * dim, dim))

    def forward(self, q: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        m = self.norm_m(memory)
        q = q + self.attn(self.norm_q(q), m, m, need_weights=False)[0]
        return q + self.ffn(self.norm_f(q))


class StageDecoder(nn.Module):
    """A stack of cross-attention blocks: (query (B, L, d), exemplar (B, L, d)) -> (B, L, d)."""

    def __init__(self, dim: int, heads: int, layers: int, qkv_bias: bool = True) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(CrossAttentionBlock(dim, heads, qkv_bias=qkv_bias) for _ in range(layers))

    def forward(self, query: torch.Tensor, exemplar: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            query = block(query, exemplar)
        return query


class ScoreMLP(nn.Module):
    """ReLU MLP d -> hidden -> hidden/4 -> 1 applied per time step: (B, L, d) -> (B, L)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        h2 = max(hidden // 4, 4)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, h2), nn.ReLU(), nn.Linear(h2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


@dataclass
class RegressionOutput:
    """delta (B,): predicted S_q - S_e; stage_deltas (B, K): per-stage differences (mean over
    branches); stage_weights (K,): softmax weights; branch_deltas: per-branch (B,) deltas."""

    delta: torch.Tensor
    stage_deltas: torch.Tensor
    stage_weights: torch.Tensor
    branch_deltas: dict[str, torch.Tensor]


class ContrastiveRegressor(nn.Module):
    """Per-branch, per-stage decoders + branch MLPs + normalised stage weights."""

    def __init__(self, branches: Sequence[str], num_stages: int, dim: int, heads: int = 4,
                 layers: int = 4, hidden: int = 256, shared_decoder: bool = False,
                 learned_stage_weights: bool = True, qkv_bias: bool = True) -> None:
        super().__init__()
        self.branches = tuple(branches)
        self.num_stages = num_stages
        # shared_decoder: ONE decoder per branch used for every stage (MCoRe's and HP-MCoRe's code)
        self.decoders = nn.ModuleDict({
            b: nn.ModuleList(StageDecoder(dim, heads, layers, qkv_bias)
                             for _ in range(1 if shared_decoder else num_stages))
            for b in self.branches
        })
        self.mlps = nn.ModuleDict({b: ScoreMLP(dim, hidden) for b in self.branches})
        if learned_stage_weights:
            self.stage_logits = nn.Parameter(torch.zeros(num_stages))  # uniform weights at start
        else:  # MCoRe's code: the plain mean over all stage tokens, nothing to learn
            self.register_buffer("stage_logits", torch.zeros(num_stages))

    def stage_weights(self) -> torch.Tensor:
        return torch.softmax(self.stage_logits, dim=0)

    def forward(self, query: dict[str, torch.Tensor], exemplar: dict[str, torch.Tensor]) -> RegressionOutput:
        """query/exemplar: branch -> stage features (B, K, L, d)."""
        w = self.stage_weights()
        per_branch_stage = []
        branch_deltas: dict[str, torch.Tensor] = {}
        for b in self.branches:
            q, e = query[b], exemplar[b]
            decs = self.decoders[b]
            stage_d = torch.stack([
                self.mlps[b](decs[k % len(decs)](q[:, k], e[:, k])).mean(dim=1) for k in range(self.num_stages)
            ], dim=1)  # (B, K)
            per_branch_stage.append(stage_d)
            branch_deltas[b] = stage_d @ w
        stage_deltas = torch.stack(per_branch_stage).mean(dim=0)
        return RegressionOutput(stage_deltas @ w, stage_deltas, w, branch_deltas)


_Score = TypeVar("_Score", torch.Tensor, float)


def regression_target(score: _Score, difficulty: _Score, mode: str) -> _Score:
    """The value the regressor works in (``AQAConfig.score_target``): the final score, or for
    ``"dd"`` (Table II's DD, CoRe's / HP-MCoRe's ``completeness``) final score / difficulty.
    Tensors of any shape (element-wise) or floats."""
    return score / difficulty if mode == "dd" else score


def final_from_target(value: _Score, difficulty: _Score, mode: str) -> _Score:
    """Inverse of :func:`regression_target`: a prediction in target units -> final-score units
    (``"dd"``: x the query's difficulty, as the codes do before every metric)."""
    return value * difficulty if mode == "dd" else value
