"""The code bundle: one deterministic tar.gz whose root holds the `pipelines/` package.

The definitions point at it as `${CodeBundleUri}` (the CDK stack uploads it as an asset):
processing steps unpack it and run `python3 -m pipelines.entrypoints.<step>`; the training job
gets it as `sagemaker_submit_directory`. Its root `requirements.txt` is what the scikit-learn
training container pip-installs before running the script (the image has no pydantic).

Same sources, same bytes: entries sorted, owner, mode and mtime fixed, gzip header without a
timestamp, so the asset hash and `code_version` change only when the code does.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
BUNDLE_NAME = "pipelines-code.tar.gz"
REQUIREMENTS = "pydantic>=2,<3\n"
_FIXED_MTIME = 946684800  # 2000-01-01: tar needs some time; any fixed one will do


def bundle_files(package_root: Path = PACKAGE_ROOT) -> list[tuple[str, Path]]:
    """(archive name, source) of every Python source of the package, sorted by name."""
    files = [
        (f"pipelines/{p.relative_to(package_root).as_posix()}", p)
        for p in package_root.rglob("*.py")
        if "__pycache__" not in p.parts
    ]
    return sorted(files)


def build_code_bundle(out_dir: Path, package_root: Path = PACKAGE_ROOT) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = [(name, path.read_bytes()) for name, path in bundle_files(package_root)]
        entries.append(("requirements.txt", REQUIREMENTS.encode()))
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
