"""Launcher of a step process: `/opt/ml/...` paths redirected into the step's scratch folder.

    python pipeline_runner.py <opt_ml_root> -m <module> [args...]
    python pipeline_runner.py <opt_ml_root> <script.py> [args...]

Arguments and SM_* variables are rewritten by the executor, but entry scripts also use built-in
defaults such as `/opt/ml/output/message` (where SageMaker reads a failure reason from). Run as
root, those would land on the host and be shared by concurrent steps, so the file-system calls a
script makes to create and write such paths are redirected here. Run as a file, not as part of the
`emulator` package: the step process must import nothing but the step's own code.
"""

from __future__ import annotations

import builtins
import io
import os
import runpy
import sys
from typing import Any

_PREFIX = "/opt/ml"


def _redirect(root: str) -> None:
    def mapped(path: Any) -> Any:
        if isinstance(path, int):
            return path  # a file descriptor
        text = os.fspath(path)
        if isinstance(text, str) and (text == _PREFIX or text.startswith(_PREFIX + "/")):
            return root + text[len(_PREFIX) :]
        return path

    def wrap(func: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if args:
                args = (mapped(args[0]), *args[1:])
            return func(*args, **kwargs)

        return wrapper

    builtins.open = io.open = wrap(io.open)  # type: ignore[assignment]
    for name in ("mkdir", "stat", "lstat", "listdir", "scandir", "open", "remove", "unlink"):
        setattr(os, name, wrap(getattr(os, name)))


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit("usage: pipeline_runner.py <opt_ml_root> (-m <module> | <script>) ...")
    root = sys.argv[1]
    # Python put this file's folder first on the path; the step must not see our modules.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    _redirect(root)
    if sys.argv[2] == "-m":
        module, rest = sys.argv[3], sys.argv[4:]
        sys.argv = [module, *rest]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    else:
        script, rest = sys.argv[2], sys.argv[3:]
        sys.argv = [script, *rest]
        sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
        runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
