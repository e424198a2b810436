"""Tables of results as Markdown and HTML, shared by the evaluation reports (eval/) and the model card.

They live under training because the card is written at the end of a training run and training never
imports eval; eval imports them from here (the layer rule in pyproject.toml).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from redflags.markers import MARKERS


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    groups: list[tuple[str, int]] = field(default_factory=list)  # (label, number of columns) over `columns`
    note: str = ""

    def markdown(self) -> str:
        # Markdown has no column groups: the group goes into each header as "group: column".
        heads, i = [], 0
        for label, span in self.groups or [("", len(self.columns))]:
            for c in self.columns[i:i + span]:
                heads.append(f"{label}: {c}" if label else c)
            i += span
        lines = [f"### {self.title}", ""]
        if self.note:
            lines += [self.note, ""]
        lines.append("| " + " | ".join(heads) + " |")
        lines.append("|" + "|".join("---" for _ in heads) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        e = html.escape
        parts = [f"<h3>{e(self.title)}</h3>"]
        if self.note:
            parts.append(f"<p>{e(self.note)}</p>")
        parts.append("<table>")
        if self.groups:
            parts.append("<tr>" + "".join(f'<th colspan="{s}">{e(g)}</th>' for g, s in self.groups) + "</tr>")
        parts.append("<tr>" + "".join(f"<th>{e(c)}</th>" for c in self.columns) + "</tr>")
        for r in self.rows:
            parts.append("<tr>" + "".join(f"<td>{e(v)}</td>" for v in r) + "</tr>")
        parts.append("</table>")
        return "\n".join(parts) + "\n"


def fmt(x: Any, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def span_tables(result: Mapping[str, Any], markers: Sequence[str] = MARKERS) -> list[Table]:
    """Markdown/HTML tables of the span metrics: systems side by side, per marker and corpus."""
    tables = []
    systems = result["systems"]
    rows = []
    for m in markers:
        corpora = sorted({c for s in systems.values() for c in s.get(m, {})}, key=lambda c: (c != "all", c))
        for c in corpora:
            row = [m, c, str(next(iter(systems.values())).get(m, {}).get(c, {}).get("sentences", ""))]
            for name in systems:
                got = systems[name].get(m, {}).get(c)
                row += ["–", "–", "–"] if got is None else [fmt(got["words"]["f1"]), fmt(got["spans"]["precision"]),
                                                         fmt(got["spans"]["recall"])]
                row.append("–" if got is None else fmt(got["spans"]["f1"]))
            rows.append(row)
    cols = ["word F1", "span P", "span R", "span F1"]
    tables.append(Table("Evidence spans: word-level F1; span precision, recall and F1 with partial-overlap credit "
                        "(SemEval-2020 Task 11)", ["marker", "corpus", "sentences"] + cols * len(systems), rows,
                        groups=[("", 3)] + [(name, len(cols)) for name in systems]))
    tech = result.get("techniques")
    if tech:
        names = list(tech)
        corpora = sorted({c for t in tech.values() for c in t}, key=lambda c: (c != "all", c))
        rows = []
        for c in corpora:
            row = [c, str(tech[names[0]].get(c, {}).get("spans", ""))]
            for n in names:
                got = tech[n].get(c)
                row += ["–", "–"] if got is None else [fmt(got["micro_f1"]), fmt(got["macro_f1"])]
            rows.append(row)
        tables.append(Table("Sensational-framing technique of the gold spans", ["corpus", "gold spans"]
                            + ["micro-F1", "macro-F1"] * len(names), rows,
                            groups=[("", 2)] + [(n, 2) for n in names]))
    return tables
