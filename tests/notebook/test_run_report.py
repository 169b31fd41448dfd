"""The run report of a suite run, opened in a real headless browser from disk (no server)."""
from __future__ import annotations

import json

import pytest

from streamlab.errors import StreamlabError
from streamlab.notebook.report import write_run_report
from streamlab.notebook.suite import run_suite
from tests.browser import browser  # noqa: F401  (fixture)
from tests.notebook.conftest import write_notebook
from tests.notebook.report_checks import check_run_report
from tests.tiers import process_fixture

ACCOUNT = "123456789012"


@process_fixture("notebooks")  # runs kernels
def failed_run(tiny_suite, tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(StreamlabError, match=r"01_fails.ipynb failed in cell In \[\d+\]: ValueError: bad value <42>"):
        run_suite(profile="ci", run_dir=run_dir, folder=tiny_suite, log=lambda _: None)
    return run_dir


def test_a_failed_run_still_gets_its_report_with_every_notebook(failed_run, browser):  # noqa: F811
    rows = check_run_report(browser, failed_run, "tiny-run-report.png")
    assert list(rows) == ["00_plot", "01_fails", "02_after"]
    assert rows["00_plot"]["ran"] == "passed" and rows["00_plot"]["verdict"].startswith("passed")
    assert "acknowledged 100" in rows["00_plot"]["key numbers"]
    assert rows["01_fails"]["ran"] == "failed" and "ValueError: bad value <42>" in rows["01_fails"]["key numbers"]
    assert rows["02_after"]["ran"] == "not run"
    assert (failed_run / "00_plot.html").exists() and (failed_run / "01_fails.html").exists()
    assert not (failed_run / "02_after.html").exists()


def test_the_report_shows_the_figure_and_the_settings_of_the_run(failed_run):
    html = (failed_run / "index.html").read_text()
    assert 'src="00_plot/squares.png"' in html
    record = json.loads((failed_run / "suite.json").read_text())
    assert record["settings"]["profile"] == "ci"
    assert record["settings"]["versions"]["papermill"]
    for version in record["settings"]["versions"].values():
        assert version in html


def test_the_report_can_be_redrawn_from_the_run_folder(failed_run):
    (failed_run / "index.html").unlink()
    index = write_run_report(failed_run)
    assert index == failed_run / "index.html" and "01_fails" in index.read_text()


@pytest.mark.notebooks  # runs kernels
def test_an_aws_run_keeps_account_ids_out_of_the_report_and_junit(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "00_account.ipynb", f"print('arn:aws:iam::{ACCOUNT}:role/x')",
                   f"raise RuntimeError('denied for account {ACCOUNT}')")
    monkeypatch.setenv("STREAMLAB_TARGET", "aws")  # the notebook itself calls nothing
    monkeypatch.setenv("STREAMLAB_HOME", str(tmp_path / "home"))
    run_dir, junit = tmp_path / "run", tmp_path / "junit.xml"
    with pytest.raises(StreamlabError, match="00_account.ipynb failed"):
        run_suite(profile="full", run_dir=run_dir, folder=folder, junit=junit, log=lambda _: None)
    # (the executed .ipynb has its outputs redacted by streamlab.aws.redact; sources are left as written)
    written = [junit, *run_dir.glob("*.html"), run_dir / "suite.json"]
    assert len(written) == 4
    for path in written:
        text = path.read_text()
        assert ACCOUNT not in text and "<account-id>" in text.replace("&lt;", "<").replace("&gt;", ">"), path.name
