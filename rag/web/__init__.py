"""Web: the Gradio page investors chat in, and the staff tab.

- ``app.py``: the page (``build_app``, ``launch_options``) over its services;
- ``startup.py``: ``Runtime``, the assistant as this server runs it (start-up, status, the fair
  line for the model);
- ``chat.py``: ``ChatTurns``, one question streamed to its rendered answer;
- ``render.py``: escaping and rendering an answer, its sources and related reading;
- ``ratings.py``: thumbs up / down and comments;
- ``staff.py``: the staff tab (documents, uploads, re-index); ``login.py``: its password check;
- ``serving.py``: fair serving, request limits, what of the server the public may see;
- ``texts.py``: the page's labels and chat texts in every language.
"""
