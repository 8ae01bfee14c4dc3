"""The test session's own set-up (tests/conftest.py): no developer configuration reaches a test,
and tests are sorted into layers by the fixtures they use."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from rag.config import Settings

from .conftest import ROOT

DEFAULT_TOP_K = Settings.model_fields["top_k"].default
DEFAULT_BACKEND = Settings.model_fields["backend"].default


def test_a_rag_toml_in_the_working_directory_is_ignored(tmp_path, monkeypatch):
    (tmp_path / "rag.toml").write_text('top_k = 1\nbackend = "openai"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert (settings.top_k, settings.backend) == (DEFAULT_TOP_K, DEFAULT_BACKEND)


def test_no_rag_variable_and_no_config_file_reach_a_test():
    allowed = ("RAG_CONFIG", "RAG_CACHE_DIR", "RAG_LLM_THREADS", "RAG_FEEDBACK_DB")
    assert not [k for k in os.environ if k.startswith("RAG_") and k not in allowed]
    assert not os.path.exists(os.environ["RAG_CONFIG"])
    # the store is the session's own, beside the missing config file, never the checkout's
    assert Path(os.environ["RAG_FEEDBACK_DB"]).parent == Path(os.environ["RAG_CONFIG"]).parent


INNER_TEST = """
import os
import tomllib

from rag.config import Settings


def test_inner():
    assert "RAG_TOP_K" not in os.environ and "RAG_BACKEND" not in os.environ
    settings = Settings()
    assert (settings.top_k, settings.backend) == ({top_k}, {backend!r})
"""


def test_a_developer_shell_and_rag_toml_do_not_reach_tests(pytester, monkeypatch):
    """A session started from a shell with RAG_* variables and a rag.toml in the working
    directory, as a developer's may be, runs its tests with the defaults."""
    monkeypatch.setenv("RAG_TOP_K", "1")
    monkeypatch.setenv("RAG_BACKEND", "extractive")
    monkeypatch.delenv("RAG_CONFIG", raising=False)
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makefile(".toml", rag='top_k = 2\nbackend = "openai"\n')
    pytester.makepyfile(test_inner=INNER_TEST.format(top_k=DEFAULT_TOP_K, backend=DEFAULT_BACKEND))
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    # and without tests/conftest.py, the same session sees the developer's settings
    (pytester.path / "conftest.py").unlink()
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(failed=1)


LAYERED_TESTS = """
import pytest


@pytest.fixture
def public_app():
    return None


@pytest.fixture
def llm_app():
    return None


@pytest.fixture
def open_page():
    return None


def test_fast():
    pass


def test_server(public_app):
    pass


def test_llm_server(llm_app):
    pass


def test_browser(open_page, public_app):
    pass


@pytest.mark.slow
def test_slow():
    pass
"""


def test_layers_follow_the_fixtures_a_test_uses(pytester):
    """Each test gets the markers of its fixtures; with the project's own marker list and
    ``--strict-markers`` (an unregistered marker would be an error)."""
    pytest_ini = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    pytester.makeini(
        "[pytest]\naddopts = --strict-markers\nmarkers =\n" + "".join(f"    {m}\n" for m in pytest_ini["markers"])
    )
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_layers=LAYERED_TESTS)

    def selected(expression: str) -> set[str]:
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-m", expression, "--co", "-q")
        return {line.split("::")[1] for line in result.outlines if "::" in line}

    assert selected("not llm and not server and not browser") == {"test_fast"}
    assert selected("server") == {"test_server", "test_llm_server", "test_browser"}
    assert selected("llm") == {"test_llm_server", "test_slow"}
    assert selected("browser") == {"test_browser"}


def test_code_names_no_path_outside_the_repository():
    """Machine-specific places (a shared folder next to the checkout, an absolute home) belong in
    settings or arguments, never in the code."""
    outside = ("/work/", "../shared", "/root/", "/home/")
    found = []
    for path in sorted(ROOT.glob("*.py")) + sorted(ROOT.glob("[!.]*/**/*.py")):
        if ".venv" in path.parts or "site-packages" in path.parts:
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(o in line for o in outside) and path.name != "test_isolation.py":
                found.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert not found, "\n".join(found)
