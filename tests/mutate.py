"""`./dev.sh mutate [MODULE] [TEST ...]`: mutation testing of one module against its own tests.

mutmut (settings in pyproject's `[tool.mutmut]`) copies `bot/` into `mutants/`, rewrites every
function of the module into its mutants, learns which of the given tests call each function,
and runs only those tests against each mutant. This script narrows mutmut to one module and
its tests, starts from an empty `mutants/` (mutmut would keep results of another module's run,
and a file it once mutated but now only copies would look unmutated), and prints the score.

MODULE is `alerts`, `diff` or `parse` (their tests are known), or a path under `bot/` (a file,
or a package directory) followed by the tests to run; a file's default is `tests/test_<name>.py`.
Without one, the three known modules in turn. Run as a script (not `-m`): the copied `tests`
package in `mutants/` must be the one imported. `mutants/` keeps the last run, for
`.venv/bin/mutmut show NAME` and `.venv/bin/mutmut browse`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, settings

#: Module → the tests that are its own.
KNOWN: dict[str, tuple[str, tuple[str, ...]]] = {
    "alerts": ("bot/alerts.py", ("tests/test_alerts.py",)),
    "diff": ("bot/diff.py", ("tests/test_diff.py",)),
    "parse": ("bot/providers/parse.py", ("tests/test_parse.py", "tests/test_fastpaths.py")),
}
#: The machine is shared: at most this many test processes at once.
CHILDREN = 2
MUTANTS = Path("mutants")

# Mutants run slower than the code (a trampoline per call) and two at a time: a hypothesis
# deadline or health check failing there would count as a kill. Fixed examples, no example
# database: the same tests see the same inputs in every run, so scores compare.
settings.register_profile(
    "mutate",
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def target(module: str, tests: list[str]) -> tuple[list[str], list[str]]:
    """The `only_mutate` patterns and the test files of `module`."""
    path, known_tests = KNOWN.get(module, (module, ()))
    source = Path(path)
    if not source.exists() and source.suffix == ".py" and source.with_suffix("").is_dir():
        source = source.with_suffix("")  # a module since cut into a package of the same name
    if source.is_dir():
        patterns = [f"{source.as_posix()}/*.py"]
    elif source.suffix == ".py" and source.is_file():
        patterns = [source.as_posix()]
    else:
        raise SystemExit(f"mutate: no module {module!r} (alerts, diff, parse or a path)")
    if not source.is_relative_to("bot"):
        raise SystemExit(f"mutate: {module} is not under bot/ (pyproject's source_paths)")
    chosen = tests or list(known_tests) or [f"tests/test_{source.stem}.py"]
    missing = [t for t in chosen if not Path(t.split("::")[0]).exists()]
    if missing:
        raise SystemExit(f"mutate: no tests {', '.join(missing)}: give the tests after the module")
    return patterns, chosen


def results() -> dict[str, tuple[str, str]]:
    """Each mutant mutmut wrote down → its state (`killed`, `survived`, `timeout` …) and the
    path of its module."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code

    states: dict[str, tuple[str, str]] = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        path = meta.relative_to(MUTANTS).as_posix().removesuffix(".meta")
        data = SourceFileMutationData(path=path)
        data.load()
        states.update(
            (name, (status_by_exit_code[code], path))
            for name, code in data.exit_code_by_key.items()
        )
    return states


def changed_lines(name: str, path: str) -> list[str]:
    """The lines a mutant changes, `-` before and `+` after."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    diff = get_diff_for_mutant(name, path=path).splitlines()
    return [line for line in diff[2:] if line[:1] in "-+"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev.sh mutate", description=__doc__.split("\n")[0])
    parser.add_argument("module", nargs="?")
    parser.add_argument("tests", nargs="*")
    args = parser.parse_args(argv)
    if args.module is None:
        # One process each: mutmut keeps its state in the process, and pytest the modules it
        # imported from `mutants/`, which the next run writes anew.
        codes = [subprocess.call([sys.executable, __file__, module]) for module in KNOWN]
        return max(codes)
    patterns, tests = target(args.module, args.tests)

    from mutmut.__main__ import cli
    from mutmut.configuration import config

    shutil.rmtree(MUTANTS, ignore_errors=True)
    cfg = config()
    cfg.only_mutate = patterns
    cfg.pytest_add_cli_args_test_selection = tests
    cfg.pytest_add_cli_args = [*cfg.pytest_add_cli_args, "--hypothesis-profile=mutate"]
    print(f"mutate: {' '.join(patterns)} against {' '.join(tests)}", flush=True)
    started = time.monotonic()
    try:
        cli.main(
            ["run", "--max-children", str(CHILDREN)], prog_name="mutmut", standalone_mode=False
        )
    except SystemExit as stopped:  # mutmut exits on a failed clean run; say so, keep its code
        if stopped.code:
            print(f"mutate: mutmut stopped ({stopped.code})", file=sys.stderr)
            return int(stopped.code) if isinstance(stopped.code, int) else 1
    took = time.monotonic() - started

    states = results()
    counts = Counter(state for state, _ in states.values())
    total, killed = len(states), counts["killed"]
    others = ", ".join(
        f"{n} {state}" for state, n in sorted(counts.items()) if state not in ("killed", "survived")
    )
    print()
    for name, (state, path) in states.items():
        if state != "killed":
            print(f"{state}: {name}")
            for line in changed_lines(name, path):
                print(f"    {line}")
    print(
        f"mutate: {' '.join(patterns)}: {killed} killed, {counts['survived']} survived"
        f"{', ' + others if others else ''}, {total} in all: "
        f"{100 * killed / total if total else 0:.1f} % killed, in {took:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
