"""Third-party log output routed into python logging, so the CLI's ``-v`` decides what is shown.

mmengine's ``MMLogger`` instances print to their own console handler (timestamped
``- mmengine - WARNING -`` lines) whatever python logging is configured to; its deprecation
notices ("FileClient will be deprecated", ...) reach the user on every fine-tuning run. And python
``warnings`` from libraries print outside logging. Both are library noise for an fdpose user:

* :func:`route_mmengine_logs` replaces the console handler of every ``MMLogger`` instance by
  :class:`ForwardToLogging`, which re-emits records on the python logger ``mmengine.<instance>``,
  warnings and below at DEBUG, errors as errors. File handlers (a run's log file) are kept.
  Called where fdpose creates mmengine loggers (the fine-tuning runner, model loading).
* :func:`capture_warnings` sends python ``warnings`` into logging (``py.warnings``) and demotes
  the ones raised outside fdpose's own code to DEBUG.
* :func:`native_stderr_to_debug` catches what native libraries write straight to file
  descriptor 2 (TFLite's "Created TensorFlow Lite XNNPACK delegate", absl/glog ``W0000 ...`` lines
  of mediapipe's graphs: ``GLOG_minloglevel`` does not reach absl) while a model is built or first
  run, and re-emits it at DEBUG.

The CLI shows DEBUG records only with ``-v`` (:func:`fdpose.cli.main.cli`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from typing import Any, Iterator

#: Levels below this are re-emitted at DEBUG (library warnings are noise for the user).
KEEP_LEVEL = logging.ERROR

#: The CLI's log line: ``LEVEL logger: message`` on stderr.
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def configure_process(level: int) -> None:
    """Log as the CLI does in a process it spawned (``track-and-estimate --workers``): root level ``level``
    (the command's -v/-q), the CLI's line format on stderr, library warnings and mmengine at DEBUG."""
    logging.basicConfig(level=level, stream=sys.stderr, format=LOG_FORMAT, force=True)
    logging.getLogger("mmengine").setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    capture_warnings()

_FDPOSE_ROOT = os.path.dirname(os.path.abspath(__file__))
_PACKAGE_ROOTS = tuple(os.path.dirname(_FDPOSE_ROOT) + os.sep + d + os.sep
                       for d in ("annotations", "pipelines", "hrnet_finetune", "aqa_model"))


class ForwardToLogging(logging.Handler):
    """A handler that re-emits records on the python logger ``prefix.<record name>``; levels below
    :data:`KEEP_LEVEL` become DEBUG."""

    def __init__(self, prefix: str = "mmengine") -> None:
        super().__init__()
        self.prefix = prefix

    def emit(self, record: logging.LogRecord) -> None:
        name = record.name if record.name.startswith(self.prefix) else f"{self.prefix}.{record.name}"
        level = record.levelno if record.levelno >= KEEP_LEVEL else logging.DEBUG
        target = logging.getLogger(name)
        if target.isEnabledFor(level):
            target.log(level, "%s", record.getMessage().rstrip())


def _is_console(handler: logging.Handler) -> bool:
    # FileHandler subclasses StreamHandler: only plain stream handlers are console output.
    return isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)


def route_logger(logger: logging.Logger, prefix: str = "mmengine") -> None:
    """Replace ``logger``'s console handlers by one :class:`ForwardToLogging` (idempotent)."""
    for handler in list(logger.handlers):
        if _is_console(handler):
            logger.removeHandler(handler)
    if not any(isinstance(h, ForwardToLogging) for h in logger.handlers):
        forward = ForwardToLogging(prefix)
        forward.setLevel(logging.NOTSET)
        logger.addHandler(forward)


def route_mmengine_logs() -> None:
    """Route every ``MMLogger`` instance created so far (see the module docstring)."""
    from mmengine.logging import MMLogger

    # ManagerMixin keeps its instances in this class dict; there is no public way to list them.
    instances: dict[str, Any] = getattr(MMLogger, "_instance_dict", {})
    for logger in list(instances.values()):
        route_logger(logger)


class _DemoteForeignWarnings(logging.Filter):
    """On ``py.warnings``: warnings raised outside fdpose's code become DEBUG (dropped unless DEBUG is on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if text.startswith((_FDPOSE_ROOT + os.sep, *_PACKAGE_ROOTS)):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def capture_warnings() -> None:
    """Send python ``warnings`` into logging, library ones at DEBUG (idempotent)."""
    # Off first: captureWarnings(True) is a no-op while logging believes it is on, even when something
    # (pytest's per-test catch_warnings, another library) has since replaced warnings.showwarning.
    logging.captureWarnings(False)
    logging.captureWarnings(True)
    logger = logging.getLogger("py.warnings")
    if not any(isinstance(f, _DemoteForeignWarnings) for f in logger.filters):
        logger.addFilter(_DemoteForeignWarnings())


@contextlib.contextmanager
def native_stderr_to_debug(logger_name: str) -> Iterator[None]:
    """Send what native code writes to file descriptor 2 inside the block to ``logger_name`` at DEBUG.

    Python's ``sys.stderr`` is flushed first, and the descriptor is restored even when the block
    raises. The redirect is process-wide: use it around model construction and a first inference
    (where the libraries print their one-time notices), not around long work whose progress bar
    writes to stderr from another thread. Where descriptor 2 cannot be duplicated (closed), the
    block runs unchanged.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as sink:
        try:
            os.dup2(sink.fileno(), 2)
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", errors="replace")
            logger = logging.getLogger(logger_name)
            for line in text.splitlines():
                if line.strip():
                    logger.debug("%s", line.rstrip())
