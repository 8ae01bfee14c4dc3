"""Answer: from a question and its passages to a verified, cited answer in the investor's language.

- ``pipeline.py``: ``Assistant``, whose ``ask_stream`` reads top to bottom in numbered steps,
  each naming the module below that does it;
- ``records.py``: ``Answer``, ``Citation``, ``Event``, ``Plan``: what comes out, to the page, the
  CLI and the evaluation;
- ``reading.py``: the standalone query, the readings searched, the evidence gate (steps 1-3);
- ``prompts.py``: the prompt templates (``rag/data/prompts/``) and the answer's prompt (step 4);
- ``verify.py``: the sentence-by-sentence check and the citations of what is kept (step 5),
  over ``grounding.py`` (citations, numbers and names against the passages) and ``intent.py``
  (what a question asks for, and whether a sentence gives it);
- ``translation.py``: verified sentences into the investor's language, checked (step 6);
- ``cache.py``: repeated questions (step 0);
- ``languages.py``: every per-language table (the glossary of names and terms is ``rag.glossary``).
"""
