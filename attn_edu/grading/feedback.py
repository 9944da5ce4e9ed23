"""Feedback tables: HTML for the notebook, Markdown for the batch grader, plain text everywhere.

A row says which property was checked and, if it failed, the first case
that failed with the expected and the received value. Nothing here shows
reference code or the source of hidden tests.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the annotations: compare imports this module
    from .compare import CheckResult

HIDDEN_NOTE = (
    "These are the visible checks only. The grader runs more (hidden) checks, "
    "so passing them all here does not yet mean full marks."
)
STARS = {1: "★", 2: "★★", 3: "★★★"}


def _points(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


def headline(result: CheckResult, title: str = "", points: float | None = None, max_points: float | None = None) -> str:
    """'Exercise ... : 2.5 / 3 points' or the same without points."""
    title = title or result.name
    if points is None:
        return f"{title}: {'all checks passed' if result.passed else 'some checks failed'}"
    return f"{title}: {_points(points)} / {_points(max_points or 0)} points"


def _status(result: CheckResult, hidden_exist: bool) -> str:
    if "reference-used" in result.flags:
        return "0 points: this answer uses attn_edu's own implementation."
    if result.passed and hidden_exist and not result.has_hidden:
        return "All visible checks passed."
    if result.passed:
        return "All checks passed."
    failed = sum(1 for c in result.checks if not c.passed)
    return f"{failed} check{'s' if failed != 1 else ''} failed; the first failing case of each is shown."


def result_html(
    result: CheckResult,
    title: str = "",
    points: float | None = None,
    max_points: float | None = None,
    hidden_exist: bool = False,
) -> str:
    """The feedback table as a small self-contained HTML fragment."""
    rows = []
    for c in result.checks:
        mark = "&#x2705;" if c.passed else "&#x274C;"
        rows.append(
            "<tr>"
            f"<td style='text-align:center'>{mark}</td>"
            f"<td style='text-align:left'>{html.escape(c.name)}</td>"
            f"<td style='text-align:left'>{html.escape(c.message)}</td>"
            "</tr>"
        )
    notes = [html.escape(n) for n in result.notes]
    if hidden_exist and not result.has_hidden:
        notes.append(html.escape(HIDDEN_NOTE))
    note_html = "".join(f"<p style='margin:0.3em 0'><i>{n}</i></p>" for n in notes)
    return (
        "<div class='attn-edu-check'>"
        f"<p style='margin:0.3em 0'><b>{html.escape(headline(result, title, points, max_points))}</b>. "
        f"{html.escape(_status(result, hidden_exist))}</p>"
        "<table><thead><tr><th></th><th style='text-align:left'>check</th>"
        "<th style='text-align:left'>result</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{note_html}</div>"
    )


def result_text(
    result: CheckResult,
    title: str = "",
    points: float | None = None,
    max_points: float | None = None,
    hidden_exist: bool = False,
) -> str:
    """The same table as plain text."""
    lines = [f"{headline(result, title, points, max_points)}. {_status(result, hidden_exist)}"]
    for c in result.checks:
        lines.append(f"  [{'ok' if c.passed else 'x '}] {c.name}: {c.message}")
    lines += [f"  {n}" for n in result.notes]
    if hidden_exist and not result.has_hidden:
        lines.append(f"  {HIDDEN_NOTE}")
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def result_markdown(result: CheckResult, title: str, points: float, max_points: float, status: str = "") -> str:
    """One exercise of a submission's feedback file, as Markdown."""
    lines = [f"### {title}: {_points(points)} / {_points(max_points)} points", ""]
    if status and status != "graded":
        lines += [f"Status: **{status}**", ""]
    if result.checks:
        lines += ["| | check | result |", "| --- | --- | --- |"]
        for c in result.checks:
            lines.append(f"| {'✅' if c.passed else '❌'} | {_md_cell(c.name)} | {_md_cell(c.message)} |")
        lines.append("")
    lines += [f"_{_md_cell(n)}_" for n in result.notes]
    return "\n".join(lines).rstrip() + "\n"
