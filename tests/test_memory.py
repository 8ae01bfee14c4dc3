"""The translation memory (issue 18): checked translations kept and reused, staff corrections
winning and never overwritten, on SQLite and PostgreSQL; the translator asking the model only for
what the memory does not hold; the staff endpoints behind the password, over HTTP."""

from __future__ import annotations

import pytest

from rag.answer.translation import Translator
from rag.generation.base import Generator
from rag.glossary import VERSION
from rag.store import Store

from .conftest import STAFF_PASSWORD

SENTENCE = "The China-ROK demonstration zone supports new antibody drugs and new immunotherapy drugs [1]."
CHINESE = "中韩示范区支持新型抗体药物和新型免疫治疗药物[1]。"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return Store.sqlite(tmp_path / "store.sqlite3")
    return Store.postgres(request.getfixturevalue("postgres_url"))


def test_a_kept_translation_is_found_again_until_the_glossary_changes(store):
    memory = store.memory
    assert memory.lookup(SENTENCE, "zh", VERSION) is None
    memory.remember(SENTENCE, "zh", VERSION, "qwen", CHINESE)
    assert memory.lookup(SENTENCE, "zh", VERSION)["text"] == CHINESE
    assert memory.lookup(SENTENCE, "ko", VERSION) is None  # per language
    assert memory.lookup(SENTENCE, "zh", "another-glossary") is None  # a term's spelling may have changed


def test_a_staff_correction_wins_and_the_model_never_overwrites_it(store):
    memory = store.memory
    memory.remember(SENTENCE, "zh", VERSION, "qwen", "中韩示范区支持新药。")
    entry = next(e for e in memory.entries("zh") if e["source"] == SENTENCE)
    assert memory.correct(entry["id"], CHINESE)
    memory.remember(SENTENCE, "zh", VERSION, "qwen", "模型的另一个译文。")  # a later model translation
    kept = memory.lookup(SENTENCE, "zh", "another-glossary")  # whatever the glossary
    assert kept["text"] == CHINESE and kept["status"] == "corrected"


def test_a_translation_marked_wrong_is_not_shown_and_is_replaced(store):
    memory = store.memory
    memory.remember(SENTENCE, "zh", VERSION, "qwen", "错误的译文。")
    entry = next(e for e in memory.entries("zh") if e["source"] == SENTENCE)
    assert memory.mark_wrong(entry["id"])
    assert memory.lookup(SENTENCE, "zh", VERSION) is None
    memory.remember(SENTENCE, "zh", VERSION, "qwen", CHINESE)
    assert memory.lookup(SENTENCE, "zh", VERSION)["text"] == CHINESE
    mine = [e for e in memory.entries("zh") if e["source"] == SENTENCE]
    assert [e["status"] for e in mine] == ["model"]  # one entry per sentence and language


def test_entries_are_listed_newest_first_and_by_language(store):
    memory = store.memory
    for i in range(3):
        memory.remember(f"Sentence {i} [1].", "zh" if i != 1 else "ko", VERSION, "qwen", f"第{i}句[1]。")
    mine = [e for e in memory.entries() if e["source"].startswith("Sentence ")]  # a shared server may hold more
    assert [e["source"] for e in mine] == ["Sentence 2 [1].", "Sentence 1 [1].", "Sentence 0 [1]."]
    assert {e["language"] for e in memory.entries("ko")} == {"ko"}


class Counting(Generator):
    """A translator model that counts how often it is asked."""

    name, model = "counting", "test"

    def __init__(self):
        self.calls = 0

    def stream(self, prompt):
        self.calls += 1
        yield "[T1][T2]支持新型[T3]和新型[T4]药物。"


def test_the_translator_asks_the_model_only_for_what_the_memory_lacks(tmp_path):
    model = Counting()
    first = Translator(model, memory=Store.sqlite(tmp_path / "s.sqlite3").memory).translate(SENTENCE, "zh")
    assert first.translated and not first.memory and model.calls == 1
    # another process, after a restart: the same file
    again = Translator(model, memory=Store.sqlite(tmp_path / "s.sqlite3").memory).translate(SENTENCE, "zh")
    assert again.translated and again.text == first.text and again.memory == "model" and model.calls == 1
    store = Store.sqlite(tmp_path / "s.sqlite3")
    store.memory.correct(store.memory.entries()[0]["id"], "中韩示范区支持抗体药物和免疫治疗药物[1]。")
    corrected = Translator(model, memory=store.memory).translate(SENTENCE, "zh")
    assert corrected.text == "中韩示范区支持抗体药物和免疫治疗药物[1]。" and corrected.memory == "corrected"
    assert model.calls == 1


def test_a_translation_that_fails_its_check_is_not_kept(tmp_path):
    class Wrong(Counting):
        def stream(self, prompt):
            self.calls += 1
            yield "[T1][T2]支持新型[T3]。"  # two terms lost, then written out and still missing

    store = Store.sqlite(tmp_path / "s.sqlite3")
    t = Translator(Wrong(), memory=store.memory).translate(SENTENCE, "zh")
    assert not t.translated and store.memory.entries() == []


def test_the_staff_endpoints_show_correct_and_mark_entries_behind_the_password(staff_app):
    memory = Store.sqlite(staff_app.feedback_db).memory
    memory.remember(SENTENCE, "zh", VERSION, "qwen", "中韩示范区支持新药。")
    memory.remember("Bethune is in Jingyue [2].", "ko", VERSION, "qwen", "베순은 징웨에 있습니다 [2].")
    client = staff_app.client()
    with pytest.raises(Exception, match="Wrong staff password"):
        client.predict("not-the-password", "all", api_name="/admin_memory")
    rows, status = client.predict(STAFF_PASSWORD, "zh", api_name="/admin_memory")
    assert [r[4] for r in rows["data"]] == [SENTENCE] and "1 translations" in status
    entry = rows["data"][0][0]
    rows, status = client.predict(STAFF_PASSWORD, "zh", entry, CHINESE, api_name="/admin_memory_correct")
    assert rows["data"][0][3] == "corrected" and rows["data"][0][5] == CHINESE
    assert "passes the translation check" in status
    assert memory.lookup(SENTENCE, "zh", VERSION)["text"] == CHINESE  # what the chat reads from now on
    rows, status = client.predict(STAFF_PASSWORD, "ko", rows["data"][0][0] + 1, api_name="/admin_memory_wrong")
    assert rows["data"][0][3] == "wrong" and memory.lookup("Bethune is in Jingyue [2].", "ko", VERSION) is None
