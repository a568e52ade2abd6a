"""The built report object: sections in order, provenance, highlights; renders and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ._tables import Figure, Section, Table

__all__ = ["Report"]


@dataclass
class Report:
    """A built report: sections holding text, tables and figures; :meth:`write` saves it.

    Attributes
    ----------
    title, subtitle
        Shown at the top (escaped when rendered).
    sections
        In order: the executive summary (page one), the main sections, then the sections of
        the technical appendix (``section.appendix``).
    provenance
        Key -> value pairs of the methods section (versions, input SHA-256, options, date).
    min_cell
        The suppression threshold used.
    paper
        ``"letter"`` or ``"a4"`` (CSS ``@page`` size, for printing and PDF).
    confidential
        Marking printed at the top of every page (``None``: none).
    """

    title: str
    subtitle: str
    sections: list[Section]
    provenance: dict[str, str]
    min_cell: int
    highlights: list[tuple[str, str, str]] = field(default_factory=list)
    generated: str = ""
    timings: dict[str, float] = field(default_factory=dict, repr=False)
    paper: str = "a4"
    confidential: str | None = None

    @property
    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]

    @property
    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    def to_html(self) -> str:
        """The whole report as one self-contained HTML document."""
        from .render import render_html

        return render_html(self)

    def write(self, path: str | Path) -> Path:
        """Write ``path`` (HTML, or a PDF when it ends in ``.pdf``), ``<stem>_tables/`` (one
        CSV per table, ``<table name>.csv``) and ``<stem>_tables.xlsx`` (one sheet per table,
        named as the CSV), all or nothing.

        Everything is written to temporary names beside the targets first and renamed into
        place only when all three are complete; on failure nothing is left behind.
        """
        from .render import write_outputs

        return write_outputs(self, path)

    def _repr_html_(self) -> str:
        """In a notebook: the report in a sandboxed frame (its CSS stays inside)."""
        import html

        return (f'<iframe sandbox="" style="width:100%;height:640px;border:1px solid #ccc" '
                f'title="{html.escape(self.title)}" srcdoc="{html.escape(self.to_html())}">'
                "</iframe>")

