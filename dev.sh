#!/bin/sh
# The project's two entry points, on a machine with nothing but python3:
#   ./dev.sh demo [opsbot demo options]   set up, then run the no-token demo
#   ./dev.sh test [pytest options]        set up, then ruff + mypy + the whole test suite
#   ./dev.sh mutate [module [tests]]      set up, then mutation-test one module (tests/mutate.py)
# Each creates (or reuses) its own virtual environment in .venv.
set -eu
cd "$(dirname "$0")"
VENV=${OPSBOT_VENV:-.venv}
PY=${PYTHON:-python3}

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PY" -m venv "$VENV"
    fi
    stamp="$VENV/.opsbot-installed"
    want=$(cat pyproject.toml | cksum)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
        echo "$want" > "$stamp"
    fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    demo)
        setup
        exec "$VENV/bin/opsbot" demo "$@"
        ;;
    test)
        setup
        echo "== ruff"; "$VENV/bin/ruff" check bot cogs rig tests bench
        "$VENV/bin/ruff" format --check bot cogs rig tests bench
        echo "== mypy"; "$VENV/bin/mypy"
        echo "== hadolint"; "$VENV/bin/hadolint" Dockerfile
        echo "== pytest"
        set +e
        "$VENV/bin/pytest" "$@"
        rc=$?
        set -e
        # pytest exits 5 when it collected no tests: that is a failure here.
        [ "$rc" -eq 5 ] && echo "pytest ran no tests" >&2 && exit 1
        exit "$rc"
        ;;
    mutate)
        setup
        exec "$VENV/bin/python" tests/mutate.py "$@"
        ;;
    *)
        echo "usage: ./dev.sh demo [--seconds N] [--seed N] | ./dev.sh test [pytest args]" \
             "| ./dev.sh mutate [alerts|diff|parse|PATH [TESTS]]" >&2
        exit 2
        ;;
esac
