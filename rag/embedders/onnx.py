"""all-MiniLM-L6-v2 exported at first use to ONNX in ``settings.cache_dir`` (``onnx/``) and run
by onnxruntime (registry names ``minilm-onnx``, ``minilm-onnx-int8``): no hub, and once
exported no PyTorch is even imported (docs/benchmarks.md has the figures)."""

from __future__ import annotations

import json
import os
import threading
import uuid
import warnings
from pathlib import Path

import numpy as np

from .base import Embedder, batched, unit
from .minilm import minilm_path


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
        return unit(summed / np.maximum(mask.sum(axis=1, keepdims=True), 1))

    def encode(self, texts, kind="passage", progress=False):
        texts = list(texts)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        vecs = batched(
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
