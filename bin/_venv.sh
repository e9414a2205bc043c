# Sourced by bin/monitor and bin/test: make sure .venv exists and holds what both need.
#
# One environment for both scripts, installed once with the test tools (the `dev` extra), so switching
# between bin/monitor and bin/test never reinstalls, and once it is complete neither script runs pip
# or reaches the network. A changed pyproject.toml installs again, once. The set-up says what it is
# doing on standard error (standard output stays the command's own, e.g. `check --json`).
# With requirements-dev.lock (bin/lock writes it) every dependency is installed at its pinned version,
# hash-checked; then the project itself. A dependency the lock lacks (pyproject.toml changed, bin/lock not
# run yet) is still installed, from the index, with a warning to refresh the lock.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
LOCK="$ROOT/requirements-dev.lock"
if [ -f "$LOCK" ]; then
    DIGEST="$(cat "$ROOT/pyproject.toml" "$LOCK" | sha256sum | cut -c1-16)"
else
    DIGEST="$(sha256sum <"$ROOT/pyproject.toml" | cut -c1-16)"
fi
STAMP="$VENV/.complete-$DIGEST"  # this pyproject.toml (and lock), with the dev extra, is installed

_setup_say() { echo "set-up: $*" >&2; }

_setup_python() {
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

# pip's own lines, the few that show progress (one per package), indented on standard error.
_setup_progress() {
    while IFS= read -r line; do
        case "$line" in
            Obtaining*|Collecting*|Processing*|*"Installing build dependencies: started"|"Installing collected packages"*|"Successfully installed"*)
                echo "  ${line#"${line%%[! ]*}"}" >&2 ;;
        esac
    done
}

_setup_pip() {  # pip ARGS...: progress lines on standard error, everything in the log; exits 2 on failure
    if ! "$VENV/bin/python" -m pip "$@" 2>&1 | tee -a "$log" | _setup_progress; then
        tail -30 "$log" >&2
        echo "error: installing the monitor failed; the whole log is in $log" >&2
        exit 2
    fi
}

_setup_install() {
    if [ ! -x "$VENV/bin/python" ]; then
        local python
        python="$(_setup_python)"
        _setup_say "creating the virtual environment $VENV with $python (first run only, about a minute) ..."
        "$python" -m venv "$VENV"
        _setup_say "updating pip ..."
        "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
    fi
    local log="$VENV/pip-install.log"
    : >"$log"
    if [ -f "$LOCK" ]; then
        _setup_say "installing the pinned dependencies (with the test tools) from ${LOCK#"$ROOT/"} into $VENV ..."
        _setup_pip install --progress-bar off --require-hashes -r "$LOCK"
        _setup_say "installing the monitor itself into $VENV ..."
    else
        _setup_say "installing the monitor and its dependencies (with the test tools) into $VENV ..."
    fi
    local before
    before="$(wc -l <"$log")"
    _setup_pip install --progress-bar off -e "$ROOT[dev]"
    if [ -f "$LOCK" ]; then
        # With a complete lock the only package installed here is the monitor itself.
        local extra
        extra="$(tail -n +"$((before + 1))" "$log" | sed -n 's/^Successfully installed //p' | tr ' ' '\n' |
                 grep -v '^court-filing-monitor-' | tr '\n' ' ' || true)"
        if [ -n "${extra// /}" ]; then
            echo "warning: ${LOCK#"$ROOT/"} lacks what pyproject.toml asks for (installed from the index instead:" \
                 "${extra% }); run bin/lock and commit the lock files" >&2
        fi
    fi
    rm -f "$VENV"/.installed-* "$VENV"/.complete-*
    touch "$STAMP"
    _setup_say "done; later runs start at once, offline too"
}

# An environment made by the earlier per-extras scheme with the dev extra is already complete.
if [ ! -f "$STAMP" ] && [ -f "$VENV/.installed-$DIGEST-dev" ]; then
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
fi

if [ ! -f "$STAMP" ]; then
    mkdir -p "$VENV"
    if command -v flock >/dev/null 2>&1; then
        # Two scripts started at once on a fresh clone: the second waits for the first's set-up.
        exec 9>"$VENV/.setup.lock"
        flock 9
        [ -f "$STAMP" ] || _setup_install
        exec 9>&-
    else
        _setup_install
    fi
fi
