# Sourced by bin/lock and bin/test-floors: sets UV to a uv executable (`uv pip compile` / `uv pip sync`).
# $UV if set; else uv $UV_VERSION, installed once from PyPI into .venv/.tools (an environment of its own:
# the project's .venv is not touched, and uv is a maintainer's tool, not a dependency).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV_VERSION="${UV_VERSION:-0.13.9}"
# what the lock files are for: CPython 3.11 on Linux x86_64
LOCK_TARGET=(--python-version 3.11 --python-platform x86_64-unknown-linux-gnu)

if [ -z "${UV:-}" ]; then
    _uv_tools="$ROOT/.venv/.tools/uv-$UV_VERSION"
    UV="$_uv_tools/bin/uv"
    if [ ! -x "$UV" ]; then
        echo "installing uv $UV_VERSION into $_uv_tools (once) ..." >&2
        "${PYTHON:-python3}" -m venv "$_uv_tools"
        "$_uv_tools/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
    fi
fi
