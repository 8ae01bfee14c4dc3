"""Ingest: from the corpus folder to the index on disk.

- ``documents.py``: reading each file format safely (pypdf, python-docx, BeautifulSoup) in a
  child process with limits; skip reasons;
- ``sources.py``: ``SOURCES.tsv``, each document's title, publisher, date and url;
- ``chunking.py``: ``Chunk``, sentence-aligned passages sized in embedding tokens;
- ``store.py``: the index on disk (FAISS + BM25 + chunks + manifest), written as versions and
  swapped in atomically, and loaded (``LoadedIndex``);
- ``build.py``: incremental builds (only new or changed files are embedded);
- ``corpus.py``: staff changes to the corpus (uploads, removals, metadata rows, the list).
The store lives here, below ``rag.search``, because search reads what ingest writes and opening
a retriever may build the index first: every import then points down.
"""
