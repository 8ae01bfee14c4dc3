"""Settings: the one configuration object of the project.

Every tunable lives here. Values come, highest priority first, from
  1. keyword arguments (``Settings(top_k=8)``, used by CLIs and tests),
  2. environment variables ``RAG_<FIELD>`` (e.g. ``RAG_BACKEND=extractive``),
  3. a TOML file: ``$RAG_CONFIG`` if set, else ``rag.toml`` in the working directory,
  4. the defaults below.
The README lists every field. Numbers are checked against their bounds; an unknown key in the
TOML file or in keyword arguments is an error naming the closest valid setting (unknown ``RAG_*``
environment variables are ignored: the environment is shared with other programs). A staff
password shorter than ``MIN_STAFF_PASSWORD`` characters is refused: the staff tab stays off and
the reason is logged (``Settings.staff_disabled_reason``).
"""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

# Offline world: libraries must never try a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# the retrieval modes and fusions rag.search implements: the one list each (the CLIs offer these)
RETRIEVAL_MODES = ("hybrid", "dense", "bm25")  # both retrievers fused, or one alone
FUSIONS = ("convex", "rrf")  # rag.search.fusion
MIN_STAFF_PASSWORD = 8


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "changchun-rag"


def staff_password_problem(password: str | None) -> str | None:
    """Why a configured staff password cannot be used (None: it can, or none is configured)."""
    if password is None:
        return None
    if not password.strip():
        return "RAG_STAFF_PASSWORD is blank"
    if len(password) < MIN_STAFF_PASSWORD:
        return f"RAG_STAFF_PASSWORD is shorter than {MIN_STAFF_PASSWORD} characters"
    return None


def unknown_key_message(key: str, valid: list[str], where: str) -> str:
    """``where: unknown setting 'key'`` plus the closest valid name, if one is close."""
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{where}: unknown setting {key!r}{hint}"


class CheckedTomlSource(TomlConfigSettingsSource):
    """The TOML file source, refusing what it cannot use: bad TOML or a key that is no setting."""

    def __init__(self, settings_cls: type[BaseSettings], toml_file: Path):
        super().__init__(settings_cls, toml_file=toml_file)
        valid = sorted(settings_cls.model_fields)
        for key in self.toml_data:
            if key not in settings_cls.model_fields:
                raise ValueError(unknown_key_message(key, valid, str(toml_file)))

    def _read_file(self, file_path) -> dict[str, Any]:
        try:
            return super()._read_file(file_path)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{file_path}: not valid TOML ({e})") from e


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="forbid", validate_default=True)

    # --- where things live -------------------------------------------------
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="Folder of source documents (+ SOURCES.tsv).")
    index_dir: Path = Field(PROJECT_ROOT / "embeddings", description="Folder holding the built index.")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Per-user cache (downloaded models).")

    # --- embedding ---------------------------------------------------------
    # minilm+use: English questions as by MiniLM alone (question set: identical), Chinese/Korean ones by
    # multilingual USE; CMRC 2018 dev hybrid R@1 0.960 against BM25 0.937 (eval/README.md, eval embedders)
    embedder: str = Field("minilm+use", description="Embedding backend: a name in rag.embedders.EMBEDDERS.")
    embed_batch_size: int = Field(32, ge=1, le=4096)
    embed_threads: int = Field(2, ge=1, le=256)

    # --- chunking (sizes in the embedding model's tokens) ------------------
    # 96:24 measured best on eval/questions.jsonl (python -m eval tune; eval/README.md): as much
    # passage fact recall as 128 with shorter prompts, doc MRR 1.0
    chunk_tokens: int = Field(96, ge=8, le=8192, description="Target chunk size in embedding-model tokens.")
    chunk_overlap: int = Field(24, ge=0, description="Overlap between neighbouring chunks, in tokens.")

    # --- reading documents (limits against upload bombs) --------------------
    pdf_max_pages: int = Field(2000, ge=1, description="A PDF with more pages is skipped.")
    docx_max_unzipped_mb: int = Field(200, ge=1, description="A .docx whose parts unpack to more is skipped.")
    parse_timeout_s: float = Field(120.0, gt=0, description="Reading one file may take this long, then it is skipped.")
    parse_max_memory_mb: int = Field(2048, ge=256, description="Address space of the process that parses files.")

    # --- index -------------------------------------------------------------
    # Exact (flat) search below this many chunks, HNSW at or above it (benchmarks/README.md).
    hnsw_threshold: int = Field(20_000, ge=1)
    hnsw_m: int = Field(32, ge=2, le=1024)
    hnsw_ef_search: int = Field(64, ge=1, le=100_000)

    # --- retrieval ---------------------------------------------------------
    top_k: int = Field(4, ge=1, le=100, description="Passages given to the generator.")
    candidates: int = Field(30, ge=1, le=10_000, description="Candidates taken from each retriever before fusion.")
    # convex fusion, dense weight 0.5: best passage fact recall on eval/questions.jsonl (0.979,
    # RRF 0.957) and on CMRC 2018 dev R@1 0.957 / MRR 0.974 against BM25 alone 0.942 / 0.963,
    # where RRF fell below BM25 (eval/README.md)
    fusion: Literal[FUSIONS] = Field("convex", description="How hybrid search fuses dense and BM25 scores.")
    dense_weight: float = Field(0.5, ge=0.0, le=1.0, description="Weight of the dense score in fusion (BM25: 1 - it).")
    rrf_k: int = Field(60, ge=0, description="Reciprocal-rank-fusion constant (fusion = rrf).")
    retrieval_mode: Literal[RETRIEVAL_MODES] = "hybrid"

    # --- generation --------------------------------------------------------
    backend: str = Field("llamacpp", description="Generator backend: a name in rag.generation.REGISTRY.")
    gguf_model: str = Field(
        "qwen2.5-coder-1.5b", description="Name from the rag.generation.gguf registry, or a path to a .gguf file."
    )
    llm_threads: int = Field(2, ge=1, le=256)
    llm_context: int = Field(4096, ge=512, le=1_048_576)
    # prompt-lookup speculative decoding in llama.cpp: measured in docs/benchmarks.md before any default
    llm_prompt_lookup: int = Field(
        0, ge=0, le=64, description="Tokens drafted from the prompt per step by llama.cpp (0: off)."
    )
    # the model's state after recent prompts, kept in memory (rag.generation.llamacpp)
    llm_state_cache_mb: int = Field(
        0, ge=0, le=65_536, description="Memory for llama.cpp states kept after recent prompts (0: off)."
    )
    max_new_tokens: int = Field(320, ge=1, le=32_768)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    openai_base_url: str = "http://127.0.0.1:8000/v1"
    openai_model: str = "local"
    openai_api_key: str = "not-needed"
    openai_timeout: float = Field(120.0, gt=0)
    transformers_model_dir: Path | None = None

    # --- answering / grounding --------------------------------------------
    # Abstain before generating when the best passage's cosine similarity is below min_similarity
    # or fewer than min_coverage of the question's keywords occur in the passages (a glossary term
    # counts once, found in any spelling). Calibrated on eval/questions.jsonl (eval/README.md): no
    # answerable question refused at the gate (the lowest covers 0.25), 16 of 38 unanswerable ones are.
    min_similarity: float = Field(0.34, ge=-1.0, le=1.0)
    min_coverage: float = Field(0.24, ge=0.0, le=1.0)
    abstain_message: str = "The documents I have do not answer this question."
    # a translated answer sentence is shown only if the multilingual encoder puts it this close to the
    # verified sentence (hand-made cases: faithful 0.6-0.8, another meaning 0.1-0.2; tests/test_translation.py)
    answer_cache_size: int = Field(
        256, ge=0, description="Verified answers kept per process for repeated questions (0: off)."
    )
    max_question_chars: int = Field(
        1000, ge=1, description="A longer question is cut (after invisible characters are dropped)."
    )
    llm_retry_s: float = Field(
        60.0, ge=0.0, description="A backend that failed to load is tried again after this long."
    )
    min_translation_similarity: float = Field(0.4, ge=-1.0, le=1.0)
    # the model reads, of each passage, only the sentences that matter to the question
    # (rag.answer.compress); the checks and the sources panel read whole passages
    prompt_compression: bool = Field(False, description="Compress passages to what matters to the question.")
    # answer.txt: each passage under its title, then the rules; answer_rules_first.txt: the rules
    # first, a prefix llama.cpp reads once for many answers; answer_compact.txt: each title once
    # above its passages, the rules in fewer words (rag/data/prompts/)
    prompt_template: Literal["answer", "answer_rules_first", "answer_compact"] = Field(
        "answer", description="The answer prompt's template."
    )

    # --- web app -----------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    feedback_db: Path = Field(PROJECT_ROOT / "feedback.sqlite3")
    feedback_url: str | None = Field(
        None, pattern=r"^postgres(ql)?://", description="postgresql:// URL: feedback goes to PostgreSQL, not SQLite."
    )
    # the question log and what staff build on it (rag.store.questions, rag.answer.curated, rag.search.gaps)
    log_questions: bool = Field(True, description="Log every investor question (no client address or identifier).")
    log_retention_days: float = Field(
        180.0, gt=0, le=3650, description="Log entries older than this are deleted (on start, then daily)."
    )
    # measured on eval/paraphrases.jsonl (python -m eval curated; eval/README.md): the highest thresholds with
    # no false match on the question set, beside the intent and passage gates of rag.answer.curated
    curated_min_similarity: float = Field(
        0.65, ge=-1.0, le=1.0, description="A question this close to a curated one (multilingual USE) gets its answer."
    )
    curated_min_similarity_en: float = Field(
        0.8, ge=-1.0, le=1.0, description="The same for two English questions, by MiniLM."
    )
    # measured on eval/paraphrases.jsonl (python -m eval curated): pair F1 0.40, within 0.012 of the best
    gap_max_distance: float = Field(
        0.4, gt=0.0, le=2.0, description="Questions grouped as one topic below this cosine distance (average link)."
    )
    upload_max_mb: int = Field(20, ge=1, le=2048)
    staff_password: str | None = Field(None, description="Enables the staff tab; env RAG_STAFF_PASSWORD.")
    staff_max_failures: int = Field(10, ge=1, description="Failed staff logins from one client before it is locked.")
    staff_lockout_s: float = Field(900.0, gt=0, description="Window of counted failures, and the lockout length.")
    # serving the public chat (rag.web.serving): questions in flight per client address, and the line for the model
    serve_max_per_client: int = Field(4, ge=1, le=1000, description="Questions in flight per client address.")
    serve_max_waiting: int = Field(24, ge=1, le=1000, description="Questions waiting for the model; more: 'busy'.")
    serve_max_wait_s: float = Field(180.0, gt=0, description="Longest wait for the model, then 'busy, try again'.")
    # the OpenAI-compatible API (rag.web.api) and the embeddable chat (rag.web.embed)
    api_rate_per_minute: int = Field(
        20, ge=1, le=100_000, description="API questions per key in any 60 seconds; more: 429 rate_limit_exceeded."
    )
    api_daily_cap: int = Field(
        1000, ge=1, le=10_000_000, description="API questions per key per UTC day; more: 429 daily_cap_exceeded."
    )
    api_max_in_flight: int = Field(
        2, ge=1, le=1000, description="API questions answered at once over all keys; the others wait their turn."
    )
    embed_origins: str = Field(
        "",
        description="Web origins (https://host[:port]) that may embed the chat and call /v1 from a browser, "
        "separated by spaces or commas; staff add more in the staff tab.",
    )

    _staff_disabled_reason: str | None = PrivateAttr(None)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        from .generation import BACKENDS  # the one list of backends

        if value not in BACKENDS:
            raise ValueError(f"unknown backend {value!r}; choose one of {', '.join(BACKENDS)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_tokens ({self.chunk_tokens})"
            )
        problem = staff_password_problem(self.staff_password)
        if problem:
            self._staff_disabled_reason = f"{problem}: the staff tab is disabled"
            log.warning(self._staff_disabled_reason)
            self.staff_password = None
        return self

    @property
    def staff_disabled_reason(self) -> str | None:
        """Why a configured staff password was refused (and the staff tab is off), else None."""
        return self._staff_disabled_reason

    @field_validator("embedder")
    @classmethod
    def _known_embedder(cls, name: str) -> str:
        from .embedders import check_embedder_name  # the registry is the one list of names

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
        return (init_settings, env_settings, CheckedTomlSource(settings_cls, toml_file=toml_file))

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"


def get_settings(**overrides) -> Settings:
    """Fresh settings (env and file re-read), with keyword overrides on top (None = not given).

    A keyword that is no setting is a ValueError naming the closest one."""
    valid = sorted(Settings.model_fields)
    for key in overrides:
        if key not in Settings.model_fields:
            raise ValueError(unknown_key_message(key, valid, "get_settings"))
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
