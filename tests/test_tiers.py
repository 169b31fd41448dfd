"""The unit tier's guard: a unit test may run a short tool, never start a Python process."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.tiers import starts_python


@pytest.mark.parametrize("args, python", [
    ([sys.executable, "-m", "ministack"], True), (["python3", "-c", "pass"], True), ("python -V", True),
    (["/opt/venv/bin/jupyter", "lab"], True), (["ministack"], True), (["git", "ls-files"], False), ("wrk -t1", False),
])
def test_what_counts_as_starting_a_python_process(args, python):
    assert starts_python(args) is python


def test_a_unit_test_that_starts_python_fails_at_once():
    with pytest.raises(pytest.fail.Exception, match="unit test but started a Python process"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)


def test_a_unit_test_may_run_a_short_tool():
    assert subprocess.run(["true"], check=False).returncode == 0


def test_a_plain_fixture_named_like_a_process_fixture_stays_in_the_unit_tier(pytester):
    # Seen: a file's own stack fixture was marked integration only when another file, whose
    # process fixture had the same name, was collected too; run alone, its tests were unit tests.
    pytester.makeconftest("""
        from tests.tiers import mark_tiers
        def pytest_collection_modifyitems(items):
            mark_tiers(items)
    """)
    pytester.makepyfile(
        test_a="""
            from tests.tiers import process_fixture
            @process_fixture()
            def stack():
                yield "process"
            def test_uses_the_process_fixture(stack, request):
                assert request.node.get_closest_marker("integration")
        """,
        test_b="""
            import pytest
            @pytest.fixture
            def stack():
                yield "plain"
            @pytest.fixture
            def through(stack):
                yield stack
            def test_uses_a_plain_fixture_of_that_name(through, request):
                assert request.node.get_closest_marker("integration") is None
        """,
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
