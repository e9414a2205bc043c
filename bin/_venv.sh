# Sourced by bin/monitor and bin/test: make sure .venv exists and matches pyproject.toml.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRAS="${1:-}"

pick_python() {
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    echo "Setting up $VENV (first run only) ..." >&2
    "$(pick_python)" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
fi

# Reinstall when pyproject.toml or the requested extras change.
STAMP="$VENV/.installed-$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)${EXTRAS:+-$EXTRAS}"
if [ ! -f "$STAMP" ]; then
    echo "Installing the monitor${EXTRAS:+ with [$EXTRAS]} into $VENV ..." >&2
    LOG="$VENV/pip-install.log"
    if ! "$VENV/bin/python" -m pip install -e "$ROOT${EXTRAS:+[$EXTRAS]}" >"$LOG" 2>&1; then
        tail -30 "$LOG" >&2
        echo "error: installing the monitor failed; the whole log is in $LOG" >&2
        exit 2
    fi
    rm -f "$VENV"/.installed-* && touch "$STAMP"
fi
