"""Hybrid retrieval: the fusion functions on hand-made scores, then real searches over a real
MiniLM + FAISS + BM25 index (flat and HNSW)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import get_settings
from rag.ingest.build import build_index
from rag.ingest.store import load_index
from rag.search.fusion import convex, rrf
from rag.search.retrieval import Retriever, top_n

from .fixtures import write_all_formats

# --- fusion on known scores ---------------------------------------------------------------------

DENSE = {1: 0.90, 2: 0.80, 3: 0.20}  # cosine similarities
BM25 = {1: 0.0, 2: 9.0, 3: 10.0}  # BM25 scores of the same rows


def test_convex_with_all_weight_on_one_side_is_that_ranking():
    assert [r for r, _ in convex([1, 2, 3], [DENSE, BM25], [1.0, 0.0])] == [1, 2, 3]
    assert [r for r, _ in convex([1, 2, 3], [DENSE, BM25], [0.0, 1.0])] == [3, 2, 1]


def test_convex_prefers_the_row_both_retrievers_rate_highly():
    # row 2: dense 0.857 and BM25 0.9 after min-max; row 1: 1.0 and 0.0; row 3: 0.0 and 1.0
    fused = convex([1, 2, 3], [DENSE, BM25], [0.5, 0.5])
    assert fused[0][0] == 2
    assert fused[0][1] == pytest.approx(0.5 * (0.6 / 0.7) + 0.5 * 0.9)


def test_convex_handles_no_rows_and_equal_scores():
    assert convex([], [{}, {}], [0.5, 0.5]) == []
    # all BM25 scores equal (no keyword matched): the dense score alone decides
    assert [r for r, _ in convex([1, 2], [{1: 0.1, 2: 0.7}, {1: 0.0, 2: 0.0}], [0.5, 0.5])] == [2, 1]


def test_weighted_rrf():
    dense = [(1, 0.9), (2, 0.8)]
    bm25 = [(2, 9.0), (1, 1.0)]
    assert rrf([dense, bm25], k=60)[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert rrf([dense, bm25], k=60, weights=[0.9, 0.1])[0][0] == 1
    assert rrf([dense, bm25], k=60, weights=[0.1, 0.9])[0][0] == 2


def test_top_n_sorts_and_drops_rows_without_a_keyword_match():
    scores = np.array([0.0, 3.0, 1.0, 5.0, 0.0], dtype=np.float32)
    assert top_n(scores, 3) == [(3, 5.0), (1, 3.0), (2, 1.0)]
    assert top_n(scores, 10) == [(3, 5.0), (1, 3.0), (2, 1.0)]
    assert top_n(np.zeros(0, dtype=np.float32), 5) == []


# --- real searches ----------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["flat", "hnsw"])
def retriever(request, tmp_path_factory, embedder):
    tmp = tmp_path_factory.mktemp(f"retrieval-{request.param}")
    write_all_formats(tmp / "corpus")
    threshold = 2 if request.param == "hnsw" else 20_000
    settings = get_settings(
        corpus_dir=tmp / "corpus", index_dir=tmp / "index", chunk_tokens=64, chunk_overlap=16, hnsw_threshold=threshold
    )
    build_index(settings, embedder)
    index = load_index(settings.index_dir)
    assert index.manifest["index"]["type"] == request.param
    return Retriever(index, embedder, settings)


def test_hybrid_hits_carry_both_scores(retriever):
    hits = retriever.search("Which zone gives a rent subsidy?", k=4)
    assert hits[0].chunk.doc_id == "harbour"
    assert [h.rank for h in hits] == [1, 2, 3, 4]
    assert all(h.dense_score is not None and -1.0 <= h.dense_score <= 1.0 for h in hits)
    assert all(h.bm25_score is not None for h in hits)
    assert hits[0].bm25_score > 0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_keyword_only_hits_get_their_cosine_similarity(retriever, embedder):
    """A chunk found by BM25 alone still gets its true similarity: abstention relies on it."""
    hits = retriever.search("研发中心 奖励", k=6)
    zh = next(h for h in hits if h.chunk.doc_id == "changchun-zh")
    assert zh.rank == 1 and zh.bm25_score > 0
    qvec = embedder.encode(["研发中心 奖励"], kind="query")[0]
    pvec = retriever.index.dense.reconstruct(next(i for i, c in enumerate(retriever.index.chunks) if c is zh.chunk))
    assert zh.dense_score == pytest.approx(float(np.dot(qvec, pvec)), abs=1e-5)


def test_modes_and_rrf_fusion(retriever):
    question = "photovoltaic glass factories"
    dense = retriever.search(question, k=3, mode="dense")
    bm25 = retriever.search(question, k=3, mode="bm25")
    assert dense[0].chunk.doc_id == bm25[0].chunk.doc_id == "page"
    assert all(h.bm25_score is None for h in dense)
    assert all(h.score == h.bm25_score for h in bm25)
    as_rrf = Retriever(retriever.index, retriever.embedder, retriever.settings.model_copy(update={"fusion": "rrf"}))
    hits = as_rrf.search(question, k=3)
    assert hits[0].chunk.doc_id == "page"
    assert hits[0].score == pytest.approx(1 / 61)  # first in both lists, weights 0.5 each


def test_question_without_keywords_falls_back_to_dense_order(retriever):
    hybrid = retriever.search("???", k=3)
    dense = retriever.search("???", k=3, mode="dense")
    assert [h.chunk.chunk_id for h in hybrid] == [h.chunk.chunk_id for h in dense]
    assert retriever.search("   ", k=3) == []


# --- one index snapshot per search, and the stage seam --------------------------------------------


class SwapMidSearch:
    """The real embedder; while it embeds the question, another thread swaps a different index
    into the retriever (and the search goes on only once the swap is done)."""

    def __init__(self, embedder, retriever, other):
        self.embedder, self.retriever, self.other = embedder, retriever, other
        self.name, self.dim = embedder.name, embedder.dim

    def encode(self, texts, kind="passage", progress=False):
        import threading

        swapper = threading.Thread(target=self.retriever.swap, args=(self.other,))
        swapper.start()
        swapper.join()
        return self.embedder.encode(texts, kind=kind)


def test_an_index_swapped_in_mid_search_does_not_mix_into_it(tmp_path, embedder):
    from .fixtures import ZONE_TXT

    settings = get_settings(corpus_dir=tmp_path / "a", index_dir=tmp_path / "a-index")
    write_all_formats(settings.corpus_dir)
    build_index(settings, embedder)
    first = load_index(settings.index_dir)
    other = settings.model_copy(update={"corpus_dir": tmp_path / "b", "index_dir": tmp_path / "b-index"})
    other.corpus_dir.mkdir()
    for i in range(3):
        (other.corpus_dir / f"other-{i}.txt").write_text(f"Zone {i} notice. " + ZONE_TXT, encoding="utf-8")
    build_index(other, embedder)
    second = load_index(other.index_dir)
    question = "Which zone gives a rent subsidy?"
    expected = [(h.chunk.chunk_id, h.score) for h in Retriever(first, embedder, settings).search(question, k=5)]

    retriever = Retriever(first, embedder, settings)
    retriever.embedder = SwapMidSearch(embedder, retriever, second)
    hits = retriever.search(question, k=5)
    assert retriever.index is second  # the swap really happened during the search
    assert [(h.chunk.chunk_id, h.score) for h in hits] == expected  # ... and the search used one index
    assert all(h.chunk in first.chunks for h in hits)


class Reverse:
    def __init__(self):
        self.seen: list[tuple[str, int]] = []

    def run(self, query, hits):
        self.seen.append((query, len(hits)))
        return hits[::-1]


def test_stages_get_every_fused_candidate_then_search_cuts_to_k(retriever):
    from rag.search.retrieval import STAGE_TIMINGS, Stage

    question = "Which zone gives a rent subsidy?"
    plain = retriever.search(question, k=50)
    stage = Reverse()
    assert isinstance(stage, Stage)
    staged = Retriever(retriever.index, retriever.embedder, retriever.settings, stages=[stage])
    hits, timings = staged.search_timed(question, k=3)
    assert stage.seen == [(question, len(plain))]  # all candidates, not just the top 3
    assert [h.chunk.chunk_id for h in hits] == [h.chunk.chunk_id for h in plain[::-1][:3]]
    assert [h.rank for h in hits] == [1, 2, 3]
    assert set(timings) == set(STAGE_TIMINGS) and timings["total"] >= timings["embed"] > 0
