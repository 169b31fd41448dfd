"""The run report: `<run_dir>/index.html` with every notebook's verdict and key numbers in one
table, the figures, the experiments and the run's settings and versions, plus each executed
notebook rendered as a page beside it. Plain files with relative links: it opens from disk, offline.

It is drawn from what the run left in its folder (`suite.json`, `results/`, the executed notebooks
and their PNG files), so `write_run_report(run_dir)` can redraw it at any time.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import jinja2

from streamlab.errors import ConfigError
from streamlab.notebook.key_numbers import FAILED, PASSED, summarize
from streamlab.notebook.outcomes import NotebookOutcome, describe_failure

TEMPLATES = Path(__file__).parent / "templates"
INDEX = "index.html"
SUITE_RECORD = "suite.json"
PAPERMILL_ERROR_ANCHOR = "papermill-error-cell"  # papermill marks the failing cell with this id


def read_suite_record(run_dir: Path) -> dict[str, Any]:
    path = run_dir / SUITE_RECORD
    if not path.exists():
        raise ConfigError(f"{run_dir} has no {SUITE_RECORD}: is it a folder written by `streamlab suite`?")
    return json.loads(path.read_text())


def read_all_results(run_dir: Path) -> dict[str, dict[str, Any]]:
    folder = run_dir / "results"
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}


def render_notebook_page(executed: Path, nav: dict[str, Any]) -> str:
    """One executed notebook as HTML, its figures embedded, with the report's navigation bar."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", extra_template_paths=[str(TEMPLATES)],
                            template_file="notebook_page.html.j2", embed_images=True)
    body, _ = exporter.from_filename(str(executed), resources={"streamlab_nav": nav})
    return body


def _page_name(outcome: NotebookOutcome) -> str:
    return f"{outcome.stem}.html"


def _nav(outcomes: list[NotebookOutcome], i: int) -> dict[str, Any]:
    def link(j: int) -> dict[str, str] | None:
        if 0 <= j < len(outcomes) and outcomes[j].executed:
            return {"name": outcomes[j].stem, "href": quote(_page_name(outcomes[j]))}
        return None

    o = outcomes[i]
    return {"name": o.stem, "status": o.status, "seconds": o.seconds, "ipynb": quote(o.name),
            "previous": link(i - 1), "next": link(i + 1)}


def write_notebook_pages(run_dir: Path, outcomes: list[NotebookOutcome], scrub: Callable[[str], str]) -> dict[str, str]:
    """Render every notebook that ran (passed or failed); returns notebook name -> page file name."""
    pages = {}
    for i, outcome in enumerate(outcomes):
        executed = run_dir / outcome.name
        if outcome.status == "not run" or not executed.exists():
            continue
        (run_dir / _page_name(outcome)).write_text(scrub(render_notebook_page(executed, _nav(outcomes, i))),
                                                   encoding="utf-8")
        pages[outcome.name] = _page_name(outcome)
    return pages


def figure_groups(run_dir: Path) -> list[dict[str, Any]]:
    """Every PNG the run saved, grouped by the folder it is in (one folder per notebook)."""
    groups: dict[str, list[dict[str, str]]] = {}
    for png in sorted(run_dir.rglob("*.png")):
        rel = png.relative_to(run_dir)
        group = str(rel.parent) if rel.parent != Path(".") else "run folder"
        groups.setdefault(group, []).append({"name": png.stem, "href": quote(rel.as_posix())})
    return [{"name": name, "files": files} for name, files in groups.items()]


def _cell(value: Any) -> dict[str, Any]:
    if isinstance(value, float):
        return {"text": f"{value:,.1f}", "num": True}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"text": f"{value:,}", "num": True}
    return {"text": "" if value is None else str(value), "num": False}


def experiment_tables(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The `rows` table of each notebook that ran experiments, as recorded."""
    tables = []
    for stem, res in results.items():
        rows = [r for r in res.get("rows") or [] if isinstance(r, dict)]
        if not rows:
            continue
        columns = list(dict.fromkeys(key for row in rows for key in row))
        tables.append({"name": stem, "columns": columns,
                       "rows": [[_cell(row.get(c)) for c in columns] for row in rows]})
    return tables


def summary_rows(outcomes: list[NotebookOutcome], results: dict[str, dict[str, Any]],
                 pages: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for o in outcomes:
        summary = summarize(o.stem, results.get(o.stem))
        rows.append({"stem": o.stem, "page": quote(pages[o.name]) if o.name in pages else None,
                     "status": o.status, "seconds": o.seconds, "facts": summary.facts,
                     "failure": describe_failure(o) if o.failed else "",
                     "failure_href": f"{quote(pages[o.name])}#{PAPERMILL_ERROR_ANCHOR}" if o.failed and o.name in pages else None,
                     "verdict": summary.verdict, "detail": summary.detail})
    return rows


def run_verdict(rows: list[dict[str, Any]]) -> str:
    ok = all(r["status"] == "passed" for r in rows) and all(r["verdict"] != FAILED for r in rows)
    return PASSED if rows and ok else FAILED


def _run_facts(name: str, record: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {s: sum(r["status"] == s for r in rows) for s in ("passed", "failed", "not run")}
    return {
        "name": name, "verdict": run_verdict(rows),
        "counts": ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no notebooks",
        "seconds": round(sum(r["seconds"] for r in rows), 1),
        "started": record.get("started", "?"),
    }


def _settings(record: dict[str, Any]) -> dict[str, Any]:
    settings = {"profile": record.get("profile", "?"), "target": "?", "commit": "?", "environment": {},
                "machine": {}, "versions": {}, "parameters": {}}
    settings.update(record.get("settings") or {})
    settings["parameters_text"] = json.dumps(settings["parameters"], indent=2) if settings["parameters"] else \
        "none: every notebook ran with its own defaults"
    return settings


def _files(run_dir: Path, outcomes: list[NotebookOutcome]) -> list[str]:
    named = [o.name for o in outcomes if (run_dir / o.name).exists()]
    results = [p.relative_to(run_dir).as_posix() for p in sorted((run_dir / "results").glob("*.json"))]
    return [quote(f) for f in [*named, *results, SUITE_RECORD]]


def write_run_report(run_dir: Path, scrub: Callable[[str], str] = lambda text: text) -> Path:
    """Write `<run_dir>/index.html` and one page per executed notebook; returns the index's path.

    `scrub` is applied to every page written (the suite passes the AWS redactor on AWS runs)."""
    run_dir = Path(run_dir)
    record = read_suite_record(run_dir)
    outcomes = [NotebookOutcome.from_dict(o) for o in record.get("outcomes", [])]
    results = read_all_results(run_dir)
    pages = write_notebook_pages(run_dir, outcomes, scrub)
    rows = summary_rows(outcomes, results, pages)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    html = env.get_template("run_index.html.j2").render(
        run=_run_facts(run_dir.name, record, rows), rows=rows, settings=_settings(record),
        figures=figure_groups(run_dir), experiments=experiment_tables(results), files=_files(run_dir, outcomes),
    )
    index = run_dir / INDEX
    index.write_text(scrub(html), encoding="utf-8")
    return index

