"""``overopt report``: (re)build the self-contained HTML report of a study run.

    overopt report runs/lab-quick                       # writes runs/lab-quick/report.html
    overopt report runs/lab-quick -o /tmp/lab.html --svg /tmp/figs --json

RUN_DIR is the ``--out`` of ``overopt lab`` or ``overopt study``. The page works offline (plotly.js
is embedded once). ``--svg DIR`` also writes the main figures as static SVG files (drawn by overopt
itself from the same data; no browser or kaleido needed). ``--json`` prints the verdict, the figure
ids and the output paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from overopt.cli._app import app
from overopt.cli._output import print_json
from overopt.errors import InputError


@app.command("report")
def report_command(
    run_dir: Annotated[str, typer.Argument(help="Run directory of 'overopt lab' / 'overopt study'.")],
    output: Annotated[str | None, typer.Option("-o", "--output", help="HTML file (default RUN_DIR/report.html).")] = None,
    svg: Annotated[str | None, typer.Option("--svg", help="Also write the main figures as SVG files here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Build one offline HTML page with the verdict, curves, fits, sample viewer and tables of a run."""
    from overopt.io.files import atomic_write
    from overopt.report import build_report, render

    out = Path(output) if output else Path(run_dir) / "report.html"
    if out.is_dir():
        raise InputError(f"-o {out} is a directory; give a file name such as {out / 'report.html'}")
    if not out.parent.is_dir():
        raise InputError(f"the folder of -o {out} does not exist; create it first")
    view = build_report(run_dir)
    try:
        atomic_write(out, render(view))
    except OSError as exc:
        raise InputError(f"cannot write {out} ({exc.strerror}); choose a writable -o") from exc
    svgs: list[str] = []
    if svg:
        from overopt.report.svg import write_svgs

        svgs = [str(p) for p in write_svgs(view, svg)]
    if as_json:
        print_json({"report": str(out), "svg": svgs, "verdict": view["verdict"],
                    "figures": [f["id"] for f in view["figures"]], "sample_groups": len(view["samples"]),
                    "absent": view["notes"]})
    else:
        typer.echo(view["verdict"]["headline"])
        typer.echo(f"wrote {out}" + (f" and {len(svgs)} SVG figure(s) in {svg}" if svgs else ""))
