"""Shared fixtures: the real web app (``python app.py``) started as a subprocess on a free
loopback port, with its index, feedback database and corpus copy in temporary folders.

Four apps at most per test session, each started once:
  * ``public_app``: extractive backend (fast), no staff password, a copy of ``corpus/`` plus a
    hostile document (``<script>`` in its text); its index folder starts empty, so start-up
    builds the index;
  * ``staff_app``: the same with a staff password and its own corpus copy (uploads and
    removals happen there, never in ``corpus/``); ``insight_app``: another of its kind, for the
    staff-insight walk (it edits a document);
  * ``llm_app``: the default llama.cpp backend over ``public_app``'s corpus and (ready) index;
    skipped when the model file is not in the cache (``make models``);
  * ``api_app``: extractive, with a staff password, a low API rate limit and one of the two
    loopback ``host_sites`` (static pages on their own ports) allowed to embed the chat.
Each app's log is kept in ``test-artifacts/``; start-up times go to ``test-artifacts/startup.json``.

Also here, for every test file (``postgres_url``: a throw-away PostgreSQL server, once per session):
  * test layers: a test is marked ``server``, ``llm`` or ``browser`` by the fixtures it uses
    (``LAYERS``; ``@pytest.mark.slow`` counts as ``llm``), so ``make check`` can leave them out;
  * isolation from the developer's own configuration: no ``RAG_*`` variable and no ``rag.toml``
    reaches a test (``RAG_CACHE_DIR`` excepted: it says where the models are, not how to answer);
  * session fixtures loaded once and shared: ``embedder`` (MiniLM), ``llama_generator`` (the
    default GGUF through llama.cpp) and ``corpus_index`` (settings over the real ``corpus/`` with
    its index built in a temporary folder).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
STAFF_PASSWORD = "test-staff-pw-7c41"
START_TIMEOUT = 600  # building an index from scratch on 2 cores

HOSTILE_FILE = "lakeside-hostile.txt"
HOSTILE_TEXT = (
    "Lakeside Robotics Park notice\n\n"
    "Lakeside Robotics Park offers a rent subsidy of 30 percent to robotics start-ups "
    "<script>window.__ragPwned = 1</script> in their first two years. "
    'Lakeside Robotics Park also hosts a testing ground <img src=x onerror="window.__ragPwned = 2"> '
    "for service robots and *industrial* robot arms.\n"
)
HOSTILE_TITLE = "Lakeside <b>Robotics</b> notice"


# --- test layers -------------------------------------------------------------------------

# fixture -> the layers (markers registered in pyproject.toml) of every test that uses it
LAYERS: dict[str, tuple[str, ...]] = {
    "public_app": ("server",),
    "staff_app": ("server",),
    "insight_app": ("server",),
    "llm_app": ("server", "llm"),
    "chat_app": ("server", "llm"),  # tests/test_browser.py: llm_app when the model is cached
    "llama_server": ("server", "llm"),
    "llama_generator": ("llm",),
    "browser": ("browser",),
    "open_page": ("browser",),
    "postgres_url": ("server",),  # a throw-away PostgreSQL server
    "api_app": ("server",),  # tests/test_api.py, tests/test_embed.py
}


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by ``-m``
def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        layers = {layer for name in item.fixturenames for layer in LAYERS.get(name, ())}
        if item.get_closest_marker("slow"):
            layers.add("llm")
        for layer in sorted(layers - {m.name for m in item.iter_markers()}):
            item.add_marker(layer)


# --- no developer configuration in tests ----------------------------------------------------

# where the models are, and how many threads llama.cpp uses: neither changes what an answer may
# say, and the LLM tests must hold with RAG_LLM_THREADS=1 as with the default 2
KEEP_ENV = ("RAG_CACHE_DIR", "RAG_LLM_THREADS")


def isolate_settings(mp: pytest.MonkeyPatch, missing_config: Path) -> None:
    """Remove every ``RAG_*`` variable (but ``KEEP_ENV``) and point ``RAG_CONFIG`` at a file
    that does not exist, so ``Settings()`` sees neither the shell's variables nor a ``rag.toml``."""
    for key in [k for k in os.environ if k.startswith("RAG_") and k not in KEEP_ENV]:
        mp.delenv(key)
    mp.setenv("RAG_CONFIG", str(missing_config))
    # the store (ratings, question log, curated answers, translation memory) of a test that names
    # none is the session's own, never the checkout's feedback.sqlite3
    mp.setenv("RAG_FEEDBACK_DB", str(missing_config.with_name("session-store.sqlite3")))


@pytest.fixture(scope="session")
def missing_config(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "no-such-rag.toml"


@pytest.fixture(scope="session", autouse=True)
def _session_without_developer_config(missing_config):
    """For the session fixtures (apps, indexes), set up before any test's own fixtures."""
    with pytest.MonkeyPatch.context() as mp:
        isolate_settings(mp, missing_config)
        yield


@pytest.fixture(autouse=True)
def _test_without_developer_config(monkeypatch, missing_config):
    """For each test: whatever an earlier test or library set is gone again."""
    isolate_settings(monkeypatch, missing_config)


# --- shared models and indexes ---------------------------------------------------------------


@pytest.fixture(scope="session")
def embedder():
    """The default embedder, loaded once per session."""
    from rag.config import Settings
    from rag.embedders import get_embedder

    return get_embedder(Settings())


@pytest.fixture(scope="session")
def llama_generator():
    """The default GGUF model through llama.cpp with the default settings, loaded once per
    session: ``rag.generation.get_generator`` caches it, so an ``Assistant`` with the default
    ``llm_context``/``llm_threads`` in any test gets this very instance."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    if not default_model_present():
        pytest.skip("the default GGUF model is not in the cache: run `make models`")
    from rag.config import Settings
    from rag.generation import get_generator

    return get_generator(Settings(backend="llamacpp"))


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """One ``python -m llama_cpp.server`` with the default model on a free loopback port, for the
    ``openai`` backend: the same GGUF as the in-process backend, the same context and threads.
    ``--interrupt_requests False``: by default the server cuts a running answer short when
    another request arrives, which two app processes sharing it would do to each other."""
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] extras are not installed")
    if not default_model_present():
        pytest.skip("the default GGUF model is not in the cache: run `make models`")
    import httpx

    from rag.config import Settings
    from rag.generation import gguf as models

    settings = Settings()
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(models.resolve_gguf(settings)),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(settings.llm_context),
        "--n_threads",
        str(settings.llm_threads),
        "--interrupt_requests",
        "False",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    try:
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not come up:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        yield base
    finally:
        proc.kill()  # it keeps nothing worth a clean shutdown
        proc.wait()


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, embedder):
    """Settings over the real ``corpus/`` (read, never written) with its index built once per
    session in a temporary folder; the extractive backend unless a test overrides it."""
    from rag.config import Settings
    from rag.ingest.build import build_index

    settings = Settings(
        corpus_dir=ROOT / "corpus", index_dir=tmp_path_factory.mktemp("corpus-index") / "index", backend="extractive"
    )
    build_index(settings, embedder)
    return settings


# --- the web app -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_corpus(dest: Path) -> Path:
    """A copy of the real corpus plus the hostile document (with a SOURCES.tsv row)."""
    shutil.copytree(ROOT / "corpus", dest)
    (dest / HOSTILE_FILE).write_text(HOSTILE_TEXT, encoding="utf-8")
    sources = dest / "SOURCES.tsv"
    text = sources.read_text(encoding="utf-8") if sources.exists() else "file\ttitle\tpublisher\tdate\turl\n"
    if not text.endswith("\n"):
        text += "\n"
    row = [HOSTILE_FILE, HOSTILE_TITLE, "Test <i>publisher</i>", "2024-01-02", "https://example.org/lakeside?a=1&b=2"]
    text += "\t".join(row) + "\n"
    sources.write_text(text, encoding="utf-8")
    return dest


@dataclass
class RunningApp:
    name: str
    url: str
    port: int
    proc: subprocess.Popen
    env: dict
    log: Path
    feedback_db: Path
    corpus_dir: Path
    index_dir: Path
    timings: dict = field(default_factory=dict)

    def client(self):
        from gradio_client import Client

        return Client(self.url, verbose=False)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (loopback only)
        return r.read()


def start_app(name: str, tmp: Path, *, corpus_dir: Path, index_dir: Path, **settings: str) -> RunningApp:
    """Run ``python app.py`` with RAG_* settings; return once the chat is ready."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") or k in KEEP_ENV}
    env.update(
        RAG_CONFIG=str(tmp / "no-such-rag.toml"),
        RAG_HOST="127.0.0.1",
        RAG_PORT=str(port),
        RAG_CORPUS_DIR=str(corpus_dir),
        RAG_INDEX_DIR=str(index_dir),
        RAG_FEEDBACK_DB=str(tmp / f"{name}-feedback.sqlite3"),
        HF_HUB_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        PYTHONUNBUFFERED="1",
    )
    # every question is answered anew unless a test asks for the cache: streaming and queue tests
    # must see a real run whatever was asked of the same app before (the cache: test_app.py)
    settings.setdefault("answer_cache_size", "0")
    env.update({f"RAG_{k.upper()}": str(v) for k, v in settings.items()})
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"app-{name}.log"
    t0 = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    app = RunningApp(
        name, f"http://127.0.0.1:{port}/", port, proc, env, log, Path(env["RAG_FEEDBACK_DB"]), corpus_dir, index_dir
    )
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app {name} exited with {proc.returncode}:\n{app.log_text()[-3000:]}")
            if time.perf_counter() - t0 > START_TIMEOUT:
                raise RuntimeError(f"app {name} did not start in {START_TIMEOUT} s:\n{app.log_text()[-3000:]}")
            try:
                _get(app.url + "gradio_api/info")
                break
            except OSError:
                time.sleep(0.25)
        app.timings["listening_s"] = round(time.perf_counter() - t0, 2)
        client = app.client()
        while True:
            status = client.predict(api_name="/status")
            if status.get("error"):
                raise RuntimeError(f"app {name} failed to start: {status['error']}")
            if status.get("ready"):
                break
            if time.perf_counter() - t0 > START_TIMEOUT or proc.poll() is not None:
                raise RuntimeError(f"app {name} not ready in time:\n{app.log_text()[-3000:]}")
            time.sleep(0.5)
        app.timings["ready_s"] = round(time.perf_counter() - t0, 2)
        app.timings["status"] = status
    except BaseException:
        app.stop()
        raise
    _record_startup(name, app.timings)
    return app


def _record_startup(name: str, timings: dict) -> None:
    path = ARTIFACTS / "startup.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[name] = timings
    path.write_text(json.dumps(data, indent=1))


def default_model_present() -> bool:
    from rag.config import Settings
    from rag.generation import gguf as models

    return models.model_path(models.DEFAULT_MODEL, Settings().models_dir).is_file()


@pytest.fixture(scope="session")
def public_corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("public") / "corpus")


@pytest.fixture(scope="session")
def public_app(tmp_path_factory, public_corpus):
    tmp = tmp_path_factory.mktemp("public-app")
    app = start_app(
        "public", tmp, corpus_dir=public_corpus, index_dir=public_corpus.parent / "index", backend="extractive"
    )
    yield app
    app.stop()


@pytest.fixture(scope="session")
def staff_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("staff-app")
    corpus = make_corpus(tmp / "corpus")
    app = start_app(
        "staff",
        tmp,
        corpus_dir=corpus,
        index_dir=tmp / "index",
        backend="extractive",
        staff_password=STAFF_PASSWORD,
        upload_max_mb="1",
    )
    yield app
    app.stop()


@pytest.fixture(scope="session")
def insight_app(tmp_path_factory):
    """``staff_app``'s kind with a corpus, index and store of its own: the staff-insight walk
    (tests/test_browser.py) edits a document and reads the whole question log."""
    tmp = tmp_path_factory.mktemp("insight-app")
    corpus = make_corpus(tmp / "corpus")
    app = start_app(
        "insight", tmp, corpus_dir=corpus, index_dir=tmp / "index", backend="extractive", staff_password=STAFF_PASSWORD
    )
    yield app
    app.stop()


@pytest.fixture(scope="session")
def llm_app(tmp_path_factory, public_app):
    if not default_model_present():
        pytest.skip("the default GGUF model is not in the cache: run `make models`")
    tmp = tmp_path_factory.mktemp("llm-app")
    # same corpus and (already built) index as public_app: this start measures a warm start
    app = start_app("llm", tmp, corpus_dir=public_app.corpus_dir, index_dir=public_app.index_dir)
    yield app
    app.stop()


@dataclass
class HostSites:
    """Two static websites on loopback ports of their own: ``allowed`` may embed the chat, ``other`` not."""

    folder: Path
    allowed: str
    other: str
    servers: list = field(default_factory=list)


@pytest.fixture(scope="session")
def host_sites(tmp_path_factory):
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # no request lines in the test output
            pass

    folder = tmp_path_factory.mktemp("host-site")
    servers = []
    for _ in range(2):
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    urls = [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
    yield HostSites(folder, urls[0], urls[1], servers)
    for server in servers:
        server.shutdown()


API_RATE_PER_MINUTE = 5


@pytest.fixture(scope="session")
def api_app(tmp_path_factory, host_sites):
    tmp = tmp_path_factory.mktemp("api-app")
    corpus = make_corpus(tmp / "corpus")
    app = start_app(
        "api",
        tmp,
        corpus_dir=corpus,
        index_dir=tmp / "index",
        backend="extractive",
        staff_password=STAFF_PASSWORD,
        api_rate_per_minute=str(API_RATE_PER_MINUTE),
        embed_origins=host_sites.allowed,
    )
    yield app
    app.stop()


def new_api_key(app: RunningApp, name: str) -> str:
    """A key made with ``python -m rag keys create NAME`` over the app's store: the last line printed."""
    out = subprocess.run(
        [sys.executable, "-m", "rag", "keys", "create", name],
        cwd=ROOT,
        env=app.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return out.strip().splitlines()[-1]


# --- a throw-away PostgreSQL server -----------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def postgres_url():
    """A throw-away PostgreSQL server (Debian's postgresql package, which ``make test``
    installs): initdb in a temporary folder, listening on a free loopback port. initdb
    refuses to run as root, so as root the server runs as the package's postgres user."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (make test installs Debian's postgresql package)")
    user = None
    home = Path(tempfile.mkdtemp(prefix="rag-pg-"))
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
        user = "postgres"
        os.chown(home, pw.pw_uid, pw.pw_gid)
    data, port = home / "data", free_port()
    run = {"user": user, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run(
        [str(bindir / "initdb"), "-D", str(data), "-U", "rag", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        **run,
    )
    subprocess.run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(home / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} -k {home} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        **run,
    )
    try:
        yield f"postgresql://rag@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], check=False, **run)
        shutil.rmtree(home, ignore_errors=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (``item.rep_call``): fixtures use it to save
    a screenshot of a failed browser test."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
