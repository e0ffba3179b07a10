"""Every exercise has a solution, and a solution is code with its output.

A solution that only states what a reader should see ("expect ...") is an untested claim.
In the notebooks a solution is a `{solution-start}` ... `{solution-end}` block with at least
one code cell between the two markers that ran (its output is stored and nbval re-runs it).
Prose-only `{solution}` blocks are allowed for the few listed below, each with its reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(
    p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)

# label -> why its solution may stay prose
PROSE_SOLUTIONS = {
    "ex-bert-vs-gpt-1": "a question of reasoning; chapter 5.1's third exercise measures the effect",
}

EXERCISE = re.compile(r"\{exercise\}\n:label: (\S+)")
PROSE = re.compile(r"`{3,4}\{solution\} (\S+)")
START = re.compile(r"\{solution-start\} (\S+)")
END = re.compile(r"\{solution-end\}")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def solutions(nb: dict) -> tuple[list[str], dict[str, str | int]]:
    """The exercise labels, and each label's solution: "prose", or the number of code cells
    that ran between its start and end markers."""
    labels: list[str] = []
    found: dict[str, str | int] = {}
    open_label: str | None = None
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code":
            if open_label is not None and cell.get("execution_count") is not None:
                found[open_label] = int(found[open_label]) + 1
            continue
        # markers in the order they appear in the cell: an end may precede the next start
        markers = sorted(
            [(m.start(), "exercise", m.group(1)) for m in EXERCISE.finditer(src)]
            + [(m.start(), "prose", m.group(1)) for m in PROSE.finditer(src)]
            + [(m.start(), "start", m.group(1)) for m in START.finditer(src)]
            + [(m.start(), "end", "") for m in END.finditer(src)]
        )
        for _, kind, label in markers:
            if kind == "exercise":
                labels.append(label)
            elif kind == "prose":
                found[label] = "prose"
            elif kind == "start":
                assert open_label is None, f"{label} starts inside {open_label}"
                open_label, found[label] = label, 0
            else:
                assert open_label is not None, "solution-end without a solution-start"
                open_label = None
    assert open_label is None, f"{open_label} has no solution-end"
    return labels, found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_every_exercise_has_an_executed_solution(path):
    labels, found = solutions(json.loads(path.read_text(encoding="utf-8")))
    missing = [label for label in labels if label not in found]
    assert not missing, f"exercises without a solution: {missing}"
    for label in labels:
        if found[label] == "prose":
            assert label in PROSE_SOLUTIONS, (
                f"{label}: the solution is prose only; make it code with its output "
                "(solution-start, a code cell, solution-end) or list it in PROSE_SOLUTIONS "
                "with the reason"
            )
        else:
            assert found[label] > 0, f"{label}: no executed code cell between its markers"


def test_prose_allowlist_names_real_exercises():
    prose = set()
    for path in NOTEBOOKS:
        _, found = solutions(json.loads(path.read_text(encoding="utf-8")))
        prose |= {label for label, kind in found.items() if kind == "prose"}
    assert set(PROSE_SOLUTIONS) == prose, "PROSE_SOLUTIONS lists solutions that are now code"


def test_solutions_parser_counts_code_between_markers():
    md = lambda s: {"cell_type": "markdown", "source": [s]}  # noqa: E731
    code = {"cell_type": "code", "source": ["print(1)"], "execution_count": 1}
    nb = {
        "cells": [
            md("```{exercise}\n:label: a\nQ\n```\n```{solution-start} a\n:class: dropdown\n```"),
            code,
            md(
                "```{solution-end}\n```\n```{exercise}\n:label: b\nQ\n```\n"
                "```{solution} b\n:class: dropdown\nA\n```"
            ),
            md("```{exercise}\n:label: c\nQ\n```\n```{solution-start} c\n```"),
            md("```{solution-end}\n```"),
        ]
    }
    labels, found = solutions(nb)
    assert labels == ["a", "b", "c"]
    assert found == {"a": 1, "b": "prose", "c": 0}
