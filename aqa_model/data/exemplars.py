"""Exemplar selection and the validation split (method.md 3.5).

* Training: the exemplar of a query is another training clip with the same dive number
  (``action_type``); the clip itself only when it is the only one of its dive number.
  Without dive number (the second setting) any other training clip.
* Test / validation: 10 exemplars per query from the training clips of the same dive number
  (or any, without dive number), chosen with a generator seeded by (seed, query key): the
  same exemplars on every run and in every process (the public code reshuffles them each
  epoch). With fewer than 10 candidates the list is repeated cyclically to 10; the public code
  instead pads with copies of the first exemplar (HP-MCoRe's ``tools/runner.py``
  ``data_process_replace``), which gives that one exemplar the weight of the missing votes
  (docs/aqa.md, "Judgement calls").
* Validation split: a seeded share of the training keys, held out for model selection (the
  test split is only for the final report).

Draws use ``random.Random(f"{seed}|{tag}|{key}")``: string seeds hash with SHA-512, so the
result does not depend on PYTHONHASHSEED, the process or the order of calls.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Sequence

from fdpose.errors import ValidationError
from fdpose.finediving import FineDivingAnnotations, Key


def _rng(seed: int, tag: str, key: Key) -> random.Random:
    return random.Random(f"{seed}|{tag}|{key[0]}|{key[1]}")


class ExemplarPicker:
    """Chooses exemplars among ``train_keys`` (dive numbers read from ``annotations.fine``)."""

    def __init__(self, annotations: FineDivingAnnotations, train_keys: Sequence[Key],
                 use_dive_number: bool = True, seed: int = 0) -> None:
        self.use_dive_number, self.seed = use_dive_number, seed
        self.train_keys = sorted(train_keys)
        if not self.train_keys:
            raise ValidationError("no training clips to choose exemplars from")
        self.dive_of = {k: annotations.fine[k].action_type for k in annotations.fine}
        self.by_dive: dict[str, list[Key]] = defaultdict(list)
        for k in self.train_keys:
            if k not in self.dive_of:
                raise ValidationError(f"training clip {k} has no fine-grained annotation")
            self.by_dive[self.dive_of[k]].append(k)

    def candidates(self, query: Key) -> list[Key]:
        """Training clips the query may be compared with (never the query itself if avoidable)."""
        if self.use_dive_number:
            dive = self.dive_of.get(query)
            if dive is None:
                raise ValidationError(f"clip {query} has no fine-grained annotation (dive number unknown)")
            pool = self.by_dive.get(dive, [])
            if not pool:
                raise ValidationError(f"no training clip with dive number {dive!r} for {query}")
        else:
            pool = self.train_keys
        others = [k for k in pool if k != query]
        return others or list(pool)

    def train_exemplar(self, query: Key, epoch: int = 0) -> Key:
        """One exemplar for a training pair; depends on (seed, epoch, query) only."""
        return _rng(self.seed, f"train{epoch}", query).choice(self.candidates(query))

    def test_exemplars(self, query: Key, count: int = 10) -> list[Key]:
        """``count`` fixed exemplars for voting (same on every run)."""
        pool = self.candidates(query)
        chosen = _rng(self.seed, "test", query).sample(pool, min(count, len(pool)))
        return [chosen[i % len(chosen)] for i in range(count)]


def split_train_val(keys: Sequence[Key], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[Key], list[Key]]:
    """Seeded hold-out of ``val_fraction`` of ``keys`` -> (train, val), both sorted."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValidationError(f"val_fraction must be in [0, 1), got {val_fraction}")
    ordered = sorted(keys)
    random.Random(f"{seed}|val").shuffle(ordered)
    n_val = int(round(len(ordered) * val_fraction))
    return sorted(ordered[n_val:]), sorted(ordered[:n_val])
