"""Start labelme with the given arguments, then write what its main window shows to a JSON file and quit.

    python labelme_probe.py OUT.json LABELME_ARGS...

Used by ``test_labelme_window.py`` under Xvfb: the arguments are those ``fdpose annotate open --dry-run``
prints, so the window checked is the one the annotator gets. Written after the window has been shown
for a second: its title, the "Label List" dock's labels in order (the labels a shape can take) and the
label flags the label dialog offers.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any


def main() -> None:
    out = Path(sys.argv[1])
    args = sys.argv[2:]
    import labelme.__main__ as labelme_main
    from labelme.widgets.unique_label_qlist_widget import UniqueLabelQListWidget
    from PyQt5 import QtCore, QtWidgets  # labelme 6 imports PyQt5 directly

    def dump(win: Any) -> None:
        try:
            lists = win.findChildren(UniqueLabelQListWidget)
            report = {
                "title": win.windowTitle(),
                "visible": bool(win.isVisible()),
                "labels": [lists[0].item(i).data(QtCore.Qt.UserRole) for i in range(lists[0].count())],
                "label_flags": (getattr(win, "_config", None) or {}).get("label_flags"),
            }
        except Exception:  # noqa: BLE001 - the test reads the failure from the file
            report = {"error": traceback.format_exc()}
        out.write_text(json.dumps(report))
        QtWidgets.QApplication.instance().quit()

    class ProbedWindow(labelme_main.MainWindow):  # type: ignore[misc, name-defined]
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            QtCore.QTimer.singleShot(1000, lambda: dump(self))

    labelme_main.MainWindow = ProbedWindow
    sys.argv = ["labelme", *args]
    labelme_main.main()


if __name__ == "__main__":
    main()
