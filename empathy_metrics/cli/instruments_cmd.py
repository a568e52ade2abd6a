"""``empathy instruments``: list the bundled instruments, or show one definition."""

from __future__ import annotations

import textwrap

import click

from ._common import echo_json, format_option, wrap_errors

__all__ = ["instruments"]


@click.group("instruments", invoke_without_command=True)
@format_option
@click.pass_context
@wrap_errors
def instruments(ctx: click.Context, fmt: str) -> None:
    """List the bundled instruments (id, name, items, scales, licence).

    Use `empathy instruments show ID` for one definition: items in published order with their
    reverse keys, subscales, scoring rule, norms, citation and licence.

    \b
    Examples:
      empathy instruments
      empathy instruments --format json
      empathy instruments show jse-s
      empathy instruments show my-scale.yaml --format json
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..instruments import list_instruments

    rows = [
        {"id": inst.id, "name": inst.name, "items": len(inst.items),
         "scales": list(inst.scales), "license": inst.license}
        for inst in list_instruments()
    ]
    if fmt == "json":
        echo_json(rows)
        return
    header = ["id", "name", "items", "scales", "licence"]
    body = [
        [r["id"], r["name"], str(r["items"]), ", ".join(r["scales"]),
         textwrap.shorten(r["license"], 48, placeholder=" ...")]
        for r in rows
    ]
    click.echo(_table(header, body))
    click.echo("\nShow one: empathy instruments show ID   (or a YAML path)")


def _table(header: list[str], body: list[list[str]]) -> str:
    """Left-aligned plain-text table."""
    widths = [max(len(r[c]) for r in [header, *body]) for c in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*r) for r in body]
    return "\n".join(line.rstrip() for line in lines)


def _wrap(text: str, indent: str = "  ") -> str:
    return textwrap.fill(" ".join(str(text).split()), width=96, initial_indent=indent,
                         subsequent_indent=indent)


def _fmt_num(x: float) -> str:
    return f"{x:g}"


def _human(inst) -> str:
    """The definition as text for people."""
    lines = [f"{inst.name} ({inst.id})"]
    lines.append("=" * len(lines[0]))
    if inst.version:
        lines.append(f"Version: {inst.version}")
    if inst.respondent:
        lines.append(f"Respondents: {inst.respondent}")
    if inst.source and "(bundled)" not in inst.source:
        lines.append(f"Definition file: {inst.source}")

    lines += ["", f"Response scale: {inst.response_min} .. {inst.response_max}"]
    for code, label in sorted(inst.labels.items()):
        lines.append(f"  {code} = {label}")
    if inst.missing_labels:
        lines.append("  counted as missing: " + ", ".join(inst.missing_labels))
    if inst.missing_codes:
        lines.append("  missing codes: " + ", ".join(map(str, inst.missing_codes)))

    membership: dict[str, list[str]] = {}
    for name, ids in inst.subscales.items():
        for iid in ids:
            membership.setdefault(iid, []).append(name)
    lines += ["", f"Items ({len(inst.items)}, published order; R = reverse keyed, "
                  f"scored {inst.response_min} + {inst.response_max} - answer):"]
    width = max(len(it.id) for it in inst.items)
    for pos, it in enumerate(inst.items, start=1):
        number = it.number if it.number is not None else pos
        flag = "R" if it.reverse else " "
        subs = ", ".join(membership.get(it.id, []))
        line = f"  {number:>3}  {it.id:<{width}}  {flag}  {subs}"
        lines.append(line.rstrip())
        if it.text:
            lines.append(_wrap(it.text, indent=" " * 8))
    rev = [str(it.number or it.id) for it in inst.items if it.reverse]
    lines.append("  reverse-keyed: " + (", ".join(rev) if rev else "none"))

    lines += ["", "Scales:"]
    for scale, ids in inst.scales.items():
        lo, hi = inst.scale_range(scale)
        what = "all items" if scale == "total" else ", ".join(ids)
        lines.append(f"  {inst.scale_name(scale)} [{scale}] ({len(ids)} items, "
                     f"range {_fmt_num(lo)}-{_fmt_num(hi)}): {what}")
    if not inst.total:
        lines.append("  (no total score)")

    lines += ["", "Scoring:"]
    lines.append(f"  method: {inst.method} of the keyed item scores")
    allow = ", ".join(f"{s} {inst.max_missing_for(s)}" for s in inst.scales)
    lines.append(f"  max_missing: {inst.max_missing} per scale -> may skip: {allow}")
    lines.append(f"  missing items replaced by the respondent's mean of the scale's answered "
                 f"items ({inst.imputation}); with more missing the scale is not scored")

    if inst.norms:
        lines += ["", "Norms:"]
        for n in inst.norms:
            who = f", n = {n.n}" if n.n else ""
            lines.append(f"  {inst.scale_name(n.scale)}, {n.group}: mean {_fmt_num(n.mean)}, "
                         f"SD {_fmt_num(n.sd)}{who}")
            if n.population:
                lines.append(_wrap(n.population, indent="    "))
            lines.append(_wrap(n.citation, indent="    "))

    lines += ["", "Citation:", _wrap(inst.citation), "", "Licence:", _wrap(inst.license)]
    if inst.notes:
        lines += ["", "Notes:", _wrap(inst.notes)]
    if not any(it.text for it in inst.items):
        lines += ["", "Item text is not shipped; a licensed user can add it with "
                      "--item-text overlay.yaml (item id: wording)."]
    return "\n".join(lines)


@instruments.command("show")
@click.argument("instrument", metavar="ID|PATH")
@click.option("--item-text", "item_text", type=click.Path(dir_okay=False), default=None,
              metavar="OVERLAY.yaml",
              help="Overlay file adding item wording (item id: text), for licensed users.")
@format_option
@wrap_errors
def show(instrument: str, item_text: str | None, fmt: str) -> None:
    """Show one instrument: items, reverse keys, subscales, scoring, citation, licence.

    ID is a bundled instrument id (see `empathy instruments`) or the path of a YAML
    definition, which is validated against the schema. `--format json` prints the definition
    with the same fields as the YAML, items in published order.

    \b
    Examples:
      empathy instruments show jse-s
      empathy instruments show iri --format json
      empathy instruments show my-scale.yaml
      empathy instruments show jse-s --item-text jse-wording.yaml
    """
    from ..instruments import load_instrument

    inst = load_instrument(instrument, item_text=item_text)
    if fmt == "json":
        echo_json(inst.to_dict())
    else:
        click.echo(_human(inst))
