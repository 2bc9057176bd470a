"""The code bundle: one deterministic tar.gz whose root holds the `pipelines/` package.

The definitions point at it as `${CodeBundleUri}` (the CDK stack uploads it as an asset):
processing steps unpack it and run `python3 -m pipelines.entrypoints.<step>`; the training job
gets it as `sagemaker_submit_directory`. Its root `requirements.txt` is what the scikit-learn
training container pip-installs before running the script (the image has no pydantic). A user's
own model (`model.entry_point`) is vendored beside it as the `user_model` package: the entry
point's folder, its Python files only (pipelines/model_spec.py).

Same sources, same bytes: entries sorted, owner, mode and mtime fixed, gzip header without a
timestamp, so the asset hash and `code_version` change only when the code does.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

from pipelines.model_spec import VENDOR_PACKAGE, vendored_files

PACKAGE_ROOT = Path(__file__).resolve().parent
BUNDLE_NAME = "pipelines-code.tar.gz"
REQUIREMENTS = "pydantic>=2,<3\npyarrow\n"
_FIXED_MTIME = 946684800  # 2000-01-01: tar needs some time; any fixed one will do


def bundle_files(package_root: Path = PACKAGE_ROOT) -> list[tuple[str, Path]]:
    """(archive name, source) of every Python source of the package, sorted by name."""
    files = [
        (f"pipelines/{p.relative_to(package_root).as_posix()}", p)
        for p in package_root.rglob("*.py")
        if "__pycache__" not in p.parts
    ]
    return sorted(files)


def user_model_files(model_folder: Path) -> list[tuple[str, Path]]:
    """(archive name, source) of a user's model folder as the `user_model` package."""
    return [(f"{VENDOR_PACKAGE}/{rel}", path) for rel, path in vendored_files(model_folder)]


def build_code_bundle(
    out_dir: Path, package_root: Path = PACKAGE_ROOT, model_folder: Path | None = None
) -> Path:
    """The bundle; `model_folder` is the folder of the config's model.entry_point, if any."""
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = [(name, path.read_bytes()) for name, path in bundle_files(package_root)]
        entries.append(("requirements.txt", REQUIREMENTS.encode()))
        if model_folder is not None:
            vendored = [(name, path.read_bytes()) for name, path in user_model_files(model_folder)]
            init = f"{VENDOR_PACKAGE}/__init__.py"
            if init not in {name for name, _ in vendored}:
                vendored.append((init, b""))  # a package, so the module's relative imports work
            entries += vendored
        for name, data in sorted(entries):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), _FIXED_MTIME, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    target = out_dir / BUNDLE_NAME
    with (
        target.open("wb") as f,
        gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(raw.getvalue())
    return target


def code_version(path: Path) -> str:
    """A short content hash of the bundle, recorded in every model package's lineage."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
