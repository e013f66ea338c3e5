"""Where measurements are kept: the latest report per set in ``eval/reports/``, one line per run in
``eval/history.csv`` (beside the reports folder), so the folder stays small and the trend stays readable.

A report is ``<name>-<stamp>.<ext>`` (``eval-holdout-20261206T052119Z.md``; a bench report may add a
suffix such as ``-scale.png``); ``<name>`` is the set. Older reports of a set are removed when a new one is
written; git keeps them.
"""

from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path

STAMP = r"\d{8}T\d{6}Z"
HISTORY = "history.csv"
# Columns of history.csv: when, which set, which code, which report, then the headline metrics (empty where
# a set has none); "other" holds a bench section's own figures as key=value pairs.
FIELDS = ("timestamp", "set", "commit", "report", "questions", "hit@1", "hit@5", "mrr", "answer_accuracy", "em", "f1",
          "wrongly_abstained", "abstention_accuracy", "other")


def reports_of(folder: Path, name: str) -> dict[str, list[Path]]:
    """The files of set ``name`` in ``folder``, by stamp (oldest first)."""
    pattern = re.compile(rf"^{re.escape(name)}-({STAMP})(?:[-.].*)?$")
    found: dict[str, list[Path]] = {}
    for path in sorted(Path(folder).glob(f"{name}-*")):
        match = pattern.match(path.name)
        if match:
            found.setdefault(match.group(1), []).append(path)
    return dict(sorted(found.items()))


def remove(paths: list[Path]) -> list[Path]:
    for path in paths:
        path.unlink(missing_ok=True)
    return paths


def keep_latest(folder: Path, name: str) -> list[Path]:
    """Remove every report of set ``name`` but the newest; returns what was removed."""
    stamps = reports_of(folder, name)
    return remove([path for stamp in list(stamps)[:-1] for path in stamps[stamp]])


def commit() -> str:
    """The commit measured, and how many files differ from it: a report must say what code it describes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, check=True).stdout

    try:
        changed = len(git("status", "--porcelain").splitlines())
        return git("rev-parse", "--short", "HEAD").strip() + (f" + {changed} changed files" if changed else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def append_history(folder: Path, rows: list[dict]) -> Path:
    """Append ``rows`` (keys from FIELDS) to ``history.csv`` beside the reports ``folder``."""
    path = Path(folder).resolve().parent / HISTORY
    new = not path.is_file()
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if row.get(key) is None else row[key] for key in FIELDS})
    return path


def eval_row(summary: dict, **fields) -> dict:
    """A history row of an evaluation's summary."""
    return {**{key: summary.get(key) for key in FIELDS}, **fields}


def figures(values: dict) -> str:
    """``{"p50_ms": 159, ...}`` as ``p50_ms=159;...``, for the "other" column."""
    return ";".join(f"{key}={value}" for key, value in values.items() if value is not None)
