"""Tracker settings chosen by the user: a preset, a JSON file of overrides, ``KEY=VALUE`` pairs.

What ``track-and-estimate`` and ``score`` build from ``--tracker``, ``--tracker-config`` and
``--tracker-set`` (:func:`tracker_config`), in that order, each applied on top of the one before:

- **preset**: ``default`` (:class:`~.config.TrackerConfig` as shipped) or ``paper`` (every
  refinement off: Eq. 25 alone, :meth:`~.config.TrackerConfig.paper`);
- **file**: a JSON object ``{section: {field: value}}`` naming only what changes, e.g.
  ``{"fill": {"enabled": true}, "gates": {"max_jump": 2.0}}``; a whole ``settings.tracker``
  object, or a clip JSON a run wrote (its ``settings.tracker`` is taken), gives back that run's tracker
  (settings added since that run take today's values, with a warning naming them);
- **pairs**: ``section.field=value`` (or ``field=value`` when the field name is unique over
  the sections), the value read as JSON (``true``, ``2.5``, ``[1.5, 2.25]``), else as text.

Every value is checked against the type of the field's default, so a typo or a wrong type is a
one-line :class:`~fdpose.errors.ConfigError` naming where it came from (the file, or the pair),
not a traceback deep inside the tracker.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Optional, Sequence

from fdpose.errors import ConfigError
from fdpose.io import read_json
from fdpose.overrides import any_length_fields, coerce, dataclass_defaults, split_assignment
from fdpose.pipelines.tracking.config import TrackerConfig

__all__ = ["PRESETS", "tracker_config", "apply_overrides", "parse_assignment"]

log = logging.getLogger(__name__)

#: ``--tracker`` presets.
PRESETS: dict[str, Callable[[], TrackerConfig]] = {"default": TrackerConfig, "paper": TrackerConfig.paper}


def _sections() -> dict[str, Any]:
    """Section name -> the default section object."""
    return dataclass_defaults(TrackerConfig)


def apply_overrides(config: TrackerConfig, overrides: Any, where: str) -> TrackerConfig:
    """``config`` with ``{section: {field: value}}`` applied; errors name ``where`` (a file, a pair)."""
    if not isinstance(overrides, dict):
        raise ConfigError(f"{where}: expected a JSON object {{section: {{field: value}}}}, got {type(overrides).__name__}")
    sections = _sections()
    changes: dict[str, dict[str, Any]] = {}
    for section, values in overrides.items():
        if section not in sections:
            raise ConfigError(f"{where}: unknown tracker section {section!r} (known: {', '.join(sections)})")
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: tracker section {section!r} must be an object of fields, got {values!r}")
        known = dataclass_defaults(sections[section])
        free = any_length_fields(type(sections[section]))
        for name, value in values.items():
            if name not in known:
                raise ConfigError(f"{where}: unknown field {name!r} in tracker section {section!r} "
                                  f"(known: {', '.join(known)})")
            try:
                changes.setdefault(section, {})[name] = coerce(value, known[name], f"{section}.{name}",
                                                               name in free)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc.message}") from None
    try:
        return config.with_(**changes)
    except ConfigError as exc:  # the config's own range checks (TrackerConfig.__post_init__)
        raise ConfigError(f"{where}: {exc.message}") from None


def parse_assignment(text: str) -> dict[str, dict[str, Any]]:
    """``"section.field=value"`` (or ``"field=value"``, field unique over the sections) ->
    ``{section: {field: value}}``; the value is JSON when it parses as JSON, else text."""
    if "=" not in text or not text.partition("=")[0].strip():
        raise ConfigError(f"--tracker-set {text!r}: expected section.field=value, e.g. fill.enabled=true")
    key, value = split_assignment(text, "--tracker-set")
    sections = _sections()
    if "." in key:
        section, _, name = key.partition(".")
        return {section: {name: value}}
    owners = [s for s, obj in sections.items() if key in dataclass_defaults(obj)]
    if len(owners) != 1:
        why = "is in no tracker section" if not owners else f"is in several sections ({', '.join(owners)}): say which"
        raise ConfigError(f"--tracker-set {text!r}: {key!r} {why}")
    return {owners[0]: {key: value}}


def _absent(stored: Any) -> list[str]:
    """Sections and ``section.field`` names of today's tracker that a stored tracker lacks."""
    if not isinstance(stored, dict):
        return []
    out: list[str] = []
    for name, section in _sections().items():
        if name not in stored:
            out.append(name)
        elif isinstance(stored[name], dict):
            out += [f"{name}.{f}" for f in dataclass_defaults(section) if f not in stored[name]]
    return out


def tracker_config(preset: str = "default", file: Optional[str | os.PathLike[str]] = None,
                   assignments: Sequence[str] = ()) -> TrackerConfig:
    """The tracker a run uses: ``preset``, then ``file``'s overrides, then each assignment in order."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown tracker preset {preset!r} ({' | '.join(PRESETS)})")
    config = PRESETS[preset]()
    if file is not None:
        data = read_json(file)
        if isinstance(data, dict) and isinstance(data.get("settings"), dict) and "tracker" in data["settings"]:
            data = data["settings"]["tracker"]  # a clip JSON of an earlier run: its tracker
            absent = _absent(data)
            if absent:  # (settings added after that run take today's values: not exactly its tracker)
                log.warning("%s: the stored tracker has no %s (added since): today's values used",
                            os.fspath(file), ", ".join(absent))
        config = apply_overrides(config, data, os.fspath(file))
    for text in assignments:
        config = apply_overrides(config, parse_assignment(text), f"--tracker-set {text!r}")
    return config
