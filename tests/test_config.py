"""Settings: bounds on numbers, unknown keys refused with the closest valid name, weak staff
passwords refused (the staff tab stays off)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from rag.config import Settings, get_settings

from .conftest import ROOT


@pytest.fixture
def toml(tmp_path, monkeypatch):
    """Write a rag.toml and point RAG_CONFIG at it."""
    path = tmp_path / "rag.toml"
    monkeypatch.setenv("RAG_CONFIG", str(path))

    def write(text: str):
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.mark.parametrize(
    "field, value",
    [
        ("top_k", 0),
        ("embed_batch_size", 0),
        ("embed_threads", 0),
        ("candidates", 0),
        ("chunk_tokens", 0),
        ("chunk_overlap", -1),
        ("hnsw_m", 0),
        ("llm_threads", 0),
        ("llm_context", 16),
        ("max_new_tokens", 0),
        ("temperature", -0.5),
        ("openai_timeout", 0),
        ("min_coverage", 1.5),
        ("port", 70000),
        ("upload_max_mb", 0),
        ("pdf_max_pages", 0),
        ("docx_max_unzipped_mb", 0),
        ("parse_timeout_s", 0),
        ("staff_max_failures", 0),
    ],
)
def test_out_of_range_numbers_are_refused(field, value):
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: value})


def test_overlap_must_be_smaller_than_chunk():
    with pytest.raises(ValidationError, match=r"chunk_overlap \(96\) must be smaller than chunk_tokens \(96\)"):
        Settings(chunk_tokens=96, chunk_overlap=96)


def test_environment_numbers_are_checked_too(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "0")
    with pytest.raises(ValidationError, match="top_k"):
        get_settings()


def test_misspelt_toml_key_names_the_key_and_the_closest_setting(toml):
    path = toml('backend = "extractive"\ntop_kk = 3\n')
    with pytest.raises(ValueError, match=rf"{path}: unknown setting 'top_kk' \(did you mean 'top_k'\?\)"):
        get_settings()
    toml("colour = 3\n")
    with pytest.raises(ValueError, match=r"unknown setting 'colour'$"):
        get_settings()
    toml("top_k = \n")
    with pytest.raises(ValueError, match="not valid TOML"):
        get_settings()
    toml('backend = "extractive"\ntop_k = 3\n')
    assert (get_settings().top_k, get_settings().backend) == (3, "extractive")


def test_misspelt_keyword_is_refused():
    with pytest.raises(ValueError, match=r"unknown setting 'topk' \(did you mean 'top_k'\?\)"):
        get_settings(topk=3)


def test_unknown_rag_environment_variables_are_ignored(monkeypatch):
    monkeypatch.setenv("RAG_TOPK", "3")  # documented in README: the environment is shared
    assert get_settings().top_k == 4


def test_cli_reports_a_bad_toml_in_one_line_and_exits_non_zero(tmp_path):
    (tmp_path / "rag.toml").write_text("retrieval_mod = 'bm25'\n", encoding="utf-8")
    env = {**os.environ, "RAG_CONFIG": str(tmp_path / "rag.toml")}
    proc = subprocess.run(
        [sys.executable, "-m", "rag", "search", "x"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "unknown setting 'retrieval_mod' (did you mean 'retrieval_mode'?)" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "password, reason",
    [
        (" ", "RAG_STAFF_PASSWORD is blank"),
        ("", "RAG_STAFF_PASSWORD is blank"),
        ("short12", "RAG_STAFF_PASSWORD is shorter than 8 characters"),
    ],
)
def test_weak_staff_password_is_refused_and_the_tab_disabled(password, reason, caplog):
    with caplog.at_level(logging.WARNING, logger="rag.config"):
        s = Settings(staff_password=password)
    assert s.staff_password is None  # the web app builds the staff tab only with a password
    assert s.staff_disabled_reason == f"{reason}: the staff tab is disabled"
    assert s.staff_disabled_reason in caplog.text
    assert password.strip() == "" or password not in caplog.text


def test_good_staff_password_is_kept():
    s = Settings(staff_password="a long enough pass")
    assert s.staff_password == "a long enough pass" and s.staff_disabled_reason is None
