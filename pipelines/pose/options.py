"""Pose-backend settings chosen per run (``--pose-set NAME=VALUE``): fields of the backend's config.

For ``--pose mediapipe`` the names are the fields of
:class:`~fdpose.pipelines.pose.mediapipe.MediaPipePoseConfig` (``model_complexity=2``: BlazePose
heavy, installed offline by install.sh; ``consensus_angles=[120, 240]``: rotation consensus;
``flip_test=true``; ``context=2.5``; ...; measured variants in docs/pose.md). The HRNet backend
takes its settings from its mmpose config and ``--flip-test``, so ``--pose-set`` is refused there.
"""

from __future__ import annotations

from typing import Any, Sequence

from fdpose.errors import ConfigError
from fdpose.overrides import any_length_fields, coerce, dataclass_defaults, split_assignment

__all__ = ["parse_pose_options", "mediapipe_config"]


def parse_pose_options(backend: str, assignments: Sequence[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs -> ``{field: value}`` checked against ``backend``'s config (later pairs win)."""
    if not assignments:
        return {}
    if backend != "mediapipe":
        raise ConfigError(f"--pose-set applies to --pose mediapipe, not {backend} (its settings are in its mmpose "
                          "config; --flip-test)")
    from fdpose.pipelines.pose.mediapipe import MediaPipePoseConfig

    known = dataclass_defaults(MediaPipePoseConfig)
    free = any_length_fields(MediaPipePoseConfig)
    out: dict[str, Any] = {}
    for text in assignments:
        name, value = split_assignment(text, "--pose-set")
        if name not in known:
            raise ConfigError(f"--pose-set {text!r}: unknown mediapipe pose setting {name!r} "
                              f"(known: {', '.join(known)})")
        try:
            out[name] = coerce(value, known[name], name, name in free)
        except ConfigError as exc:
            raise ConfigError(f"--pose-set {text!r}: {exc.message}") from None
    try:
        mediapipe_config(out)  # the config's own range checks, up front
    except ConfigError as exc:
        raise ConfigError(f"--pose-set: {exc.message}") from None
    return out


def mediapipe_config(options: dict[str, Any]) -> Any:
    """The :class:`~fdpose.pipelines.pose.mediapipe.MediaPipePoseConfig` with ``options`` (checked fields)."""
    from fdpose.pipelines.pose.mediapipe import config_from_options

    return config_from_options(options)
