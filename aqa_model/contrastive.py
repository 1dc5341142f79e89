"""Stage-wise contrastive loss and the InfoNCE / triplet alternatives, method.md 3.4 (Eq. 12-15).

Inputs are stage embeddings of a query and its exemplar, u = (B, K, C) and v = (B, K, C)
(one vector per stage: the stage's features averaged over time, then the projection g).

Stage-wise loss (paper): critic h(a, b) = exp(cos(a, b) / tau). For stage i of the query the
positive is stage i of the exemplar; the negatives are the other stages of the exemplar
(inter-video) and the other stages of the query itself (intra-video):

    l_i(u, v) = -log( h(u_i, v_i) / (h(u_i, v_i) + sum_{j!=i} h(u_i, u_j) + sum_{j!=i} h(u_i, v_j)) )

averaged over stages, symmetrised over (u, v) and (v, u) as in the public code, and averaged
over the batch. With K = 1 there are no negatives and the loss is 0.

InfoNCE (ablation): the same positive, negatives = every other exemplar stage in the batch
(other stages and other videos), no intra-video negatives; symmetrised.
Token-level (MCoRe's code, :func:`token_contrastive_loss`): tokens of one stage against the
same stage's tokens of the other video, no projection.
Triplet (ablation): anchor u_i, positive v_i, hardest negative among u_j, v_j (j != i) in
cosine distance d = 1 - cos; loss max(0, d(u_i, v_i) - d(u_i, n) + margin).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from fdpose.errors import ConfigError


def _one_way_stagewise(u: torch.Tensor, v: torch.Tensor, tau: float) -> torch.Tensor:
    un, vn = F.normalize(u, dim=-1), F.normalize(v, dim=-1)
    k = u.shape[1]
    cross = un @ vn.transpose(1, 2) / tau  # (B, K, K): h(u_i, v_j) in log space
    intra = un @ un.transpose(1, 2) / tau
    eye = torch.eye(k, dtype=torch.bool, device=u.device)
    intra = intra.masked_fill(eye, float("-inf"))  # u_i is not its own negative
    logits = torch.cat([cross, intra], dim=-1)  # positive + all negatives
    return (torch.logsumexp(logits, dim=-1) - cross.diagonal(dim1=1, dim2=2)).mean()


def stagewise_contrastive_loss(u: torch.Tensor, v: torch.Tensor, tau: float = 0.5) -> torch.Tensor:
    """Paper's stage-wise loss (module docstring). u, v: (B, K, C) -> scalar."""
    return 0.5 * (_one_way_stagewise(u, v, tau) + _one_way_stagewise(v, u, tau))


def infonce_loss(u: torch.Tensor, v: torch.Tensor, tau: float = 0.5) -> torch.Tensor:
    """Batch InfoNCE over stages: positive = same video, same stage. u, v: (B, K, C) -> scalar."""
    un = F.normalize(u.flatten(0, 1), dim=-1)
    vn = F.normalize(v.flatten(0, 1), dim=-1)
    logits = un @ vn.T / tau
    target = torch.arange(logits.shape[0], device=u.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def triplet_stage_loss(u: torch.Tensor, v: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """Hardest-negative triplet loss on cosine distance. u, v: (B, K, C) -> scalar."""
    k = u.shape[1]
    if k < 2:
        return (u.sum() + v.sum()) * 0.0
    un, vn = F.normalize(u, dim=-1), F.normalize(v, dim=-1)
    d_cross = 1 - un @ vn.transpose(1, 2)  # (B, K, K)
    d_intra = 1 - un @ un.transpose(1, 2)
    eye = torch.eye(k, dtype=torch.bool, device=u.device)
    d_pos = d_cross.diagonal(dim1=1, dim2=2)
    big = torch.finfo(u.dtype).max
    d_neg = torch.minimum(d_cross.masked_fill(eye, big).amin(-1), d_intra.masked_fill(eye, big).amin(-1))
    return F.relu(d_pos - d_neg + margin).mean()


def token_contrastive_loss(query: torch.Tensor, exemplar: torch.Tensor, tau: float = 0.5) -> torch.Tensor:
    """MCoRe's code's token-level loss (its ``semi_loss``, tau 0.5 there). query, exemplar: (B, K, L, C) -> scalar.

    Inside every stage k, token i of the query (L2-normalised, no projection) has token i of the
    exemplar as its positive; the negatives are the exemplar's other tokens of that stage and the
    query's own other tokens of that stage (other stages never enter). Per token
    ``-log(h(q_i, e_i) / (sum_j h(q_i, e_j) + sum_{j != i} h(q_i, q_j)))``, symmetrised over
    (query, exemplar) and averaged over tokens, stages and the batch.
    """
    def one_way(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        un, vn = F.normalize(u, dim=-1), F.normalize(v, dim=-1)
        between = un @ vn.transpose(-2, -1) / tau  # (B, K, L, L)
        refl = un @ un.transpose(-2, -1) / tau
        eye = torch.eye(u.shape[-2], dtype=torch.bool, device=u.device)
        logits = torch.cat([between, refl.masked_fill(eye, float("-inf"))], dim=-1)
        return torch.logsumexp(logits, dim=-1) - between.diagonal(dim1=-2, dim2=-1)  # (B, K, L)

    return (0.5 * (one_way(query, exemplar) + one_way(exemplar, query))).mean()


ContrastiveKind = Literal["stagewise", "infonce", "triplet", "token"]


class StageContrast(nn.Module):
    """Projection g (LayerNorm + Linear) then the chosen loss.

    forward(query_stages (B, K, L, d), exemplar_stages (B, K, L, d)) -> scalar.
    projection False: g is the identity, the losses see the stage means themselves (HP-MCoRe's code:
    L2-normalised stage means, the normalisation being the cosine inside every loss here).
    """

    def __init__(self, in_dim: int, proj_dim: int, kind: ContrastiveKind = "stagewise",
                 tau: float = 0.5, margin: float = 0.2, projection: bool = True) -> None:
        super().__init__()
        if kind not in ("stagewise", "infonce", "triplet", "token"):
            raise ConfigError(f"unknown contrastive loss {kind!r}")
        self.kind, self.tau, self.margin = kind, tau, margin
        # the token-level loss (MCoRe's code) compares the stage features themselves: no projection
        self.g: nn.Module = (nn.Identity() if kind == "token" or not projection
                             else nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, proj_dim)))

    def embed(self, stages: torch.Tensor) -> torch.Tensor:
        """(B, K, L, d) -> (B, K, proj_dim)."""
        return self.g(stages.mean(dim=2))

    def forward(self, query_stages: torch.Tensor, exemplar_stages: torch.Tensor) -> torch.Tensor:
        if self.kind == "token":
            return token_contrastive_loss(query_stages, exemplar_stages, self.tau)
        u, v = self.embed(query_stages), self.embed(exemplar_stages)
        if self.kind == "stagewise":
            return stagewise_contrastive_loss(u, v, self.tau)
        if self.kind == "infonce":
            return infonce_loss(u, v, self.tau)
        return triplet_stage_loss(u, v, self.margin)
