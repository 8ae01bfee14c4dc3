"""Settings: the one configuration object of the project.

Every tunable lives here. Values come, highest priority first, from
  1. keyword arguments (``Settings(top_k=8)``, used by CLIs and tests),
  2. environment variables ``RAG_<FIELD>`` (e.g. ``RAG_BACKEND=extractive``),
  3. a TOML file: ``$RAG_CONFIG`` if set, else ``rag.toml`` in the working directory,
  4. the defaults below.
The README lists every field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

# Offline world: libraries must never try a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "changchun-rag"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore", validate_default=True)

    # --- where things live -------------------------------------------------
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="Folder of source documents (+ SOURCES.tsv).")
    index_dir: Path = Field(PROJECT_ROOT / "embeddings", description="Folder holding the built index.")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Per-user cache (downloaded models).")

    # --- embedding ---------------------------------------------------------
    embedder: str = Field("minilm", description="Embedding backend: a name in rag.embedding.EMBEDDERS.")
    embed_batch_size: int = 32
    embed_threads: int = 2

    # --- chunking (sizes in the embedding model's tokens) ------------------
    # 96:24 measured best on eval/questions.jsonl (python -m eval tune; eval/README.md): as much
    # passage fact recall as 128 with shorter prompts, doc MRR 1.0
    chunk_tokens: int = Field(96, description="Target chunk size in embedding-model tokens.")
    chunk_overlap: int = Field(24, description="Overlap between neighbouring chunks, in tokens.")

    # --- index -------------------------------------------------------------
    # Exact (flat) search below this many chunks, HNSW at or above it (benchmarks/README.md).
    hnsw_threshold: int = 20_000
    hnsw_m: int = 32
    hnsw_ef_search: int = 64

    # --- retrieval ---------------------------------------------------------
    top_k: int = Field(4, description="Passages given to the generator.")
    candidates: int = Field(30, description="Candidates taken from each retriever before fusion.")
    # convex fusion, dense weight 0.5: best passage fact recall on eval/questions.jsonl (0.979,
    # RRF 0.957) and on CMRC 2018 dev R@1 0.957 / MRR 0.974 against BM25 alone 0.942 / 0.963,
    # where RRF fell below BM25 (eval/README.md)
    fusion: Literal["convex", "rrf"] = Field("convex", description="How hybrid search fuses dense and BM25 scores.")
    dense_weight: float = Field(0.5, ge=0.0, le=1.0, description="Weight of the dense score in fusion (BM25: 1 - it).")
    rrf_k: int = Field(60, description="Reciprocal-rank-fusion constant (fusion = rrf).")
    retrieval_mode: Literal["hybrid", "dense", "bm25"] = "hybrid"

    # --- generation --------------------------------------------------------
    backend: Literal["llamacpp", "openai", "transformers", "extractive"] = "llamacpp"
    gguf_model: str = Field("qwen2.5-coder-1.5b", description="Name from rag.models registry, or a path to a .gguf file.")
    llm_threads: int = 2
    llm_context: int = 4096
    max_new_tokens: int = 320
    temperature: float = 0.0
    openai_base_url: str = "http://127.0.0.1:8000/v1"
    openai_model: str = "local"
    openai_api_key: str = "not-needed"
    openai_timeout: float = 120.0
    transformers_model_dir: Path | None = None

    # --- answering / grounding --------------------------------------------
    # Abstain before generating when the best passage's cosine similarity is below min_similarity
    # or fewer than min_coverage of the question's keywords occur in the passages. Calibrated with
    # `python -m eval tune` (eval/README.md): no answerable English question refused.
    min_similarity: float = 0.34
    min_coverage: float = 0.30
    abstain_message: str = "The documents I have do not answer this question."

    # --- web app -----------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 7860
    feedback_db: Path = Field(PROJECT_ROOT / "feedback.sqlite3")
    upload_max_mb: int = 20
    staff_password: str | None = Field(None, description="Enables the staff tab; env RAG_STAFF_PASSWORD.")

    @field_validator("embedder")
    @classmethod
    def _known_embedder(cls, name: str) -> str:
        from .embedding import check_embedder_name  # the registry is the one list of names

        return check_embedder_name(name)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("RAG_CONFIG", "rag.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"


def get_settings(**overrides) -> Settings:
    """Fresh settings (env and file re-read), with keyword overrides on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
