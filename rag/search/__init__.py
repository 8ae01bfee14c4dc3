"""Search: from a question to ranked passages of the loaded index.

- ``retrieval.py``: ``Retriever`` (hybrid search over one index snapshot, optional stages after
  fusion), ``Hit``, and ``open_retriever`` (load the index, building it first when missing);
- ``fusion.py``: how the dense and BM25 rankings become one (convex or reciprocal rank fusion).
The index itself, on disk and as loaded, is ``rag.ingest.store``.
"""
