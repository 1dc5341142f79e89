"""fdpose.io.csv_text: the tables eval-aqa and train-aqa write (predictions.csv, per_dive.csv, metrics.csv)
go through pandas (issue 13 B) and stay byte-identical to what the csv module wrote before."""

from __future__ import annotations

import csv
import io

import pandas as pd

from fdpose.io import csv_text

ROWS = [
    {"match": "A", "idx": 1, "score": 0.1, "gap": None, "text": 'x,"y";z', "flag": True, "mean": 51.23954963684082,
     "rho": -0.9999999999999999, "not_a_column": 5},
    {"match": "B", "idx": 12, "score": 1e-20, "gap": 3, "text": "", "flag": False, "mean": float("inf"), "rho": 47.0},
]
COLUMNS = ("match", "idx", "score", "gap", "text", "flag", "mean", "rho")


def _csv_module(rows: list[dict], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in columns})
    return buffer.getvalue()


def test_same_text_as_the_csv_module() -> None:
    text = csv_text(ROWS, COLUMNS)
    assert text == _csv_module(ROWS, COLUMNS)
    # an int column with a gap stays ints (no 3.0), the extra key is not written
    assert text.splitlines()[2].startswith("B,12,1e-20,3,,False,inf,47.0") and "not_a_column" not in text


def test_reads_back_as_the_table() -> None:
    back = pd.read_csv(io.StringIO(csv_text(ROWS, COLUMNS)), keep_default_na=False)
    assert list(back.columns) == list(COLUMNS) and back["idx"].tolist() == [1, 12]
    assert back["text"].tolist() == ['x,"y";z', ""] and back["mean"].tolist()[0] == 51.23954963684082


def test_empty_table_is_the_header() -> None:
    assert csv_text([], COLUMNS) == ",".join(COLUMNS) + "\n"
