from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytest_plugins = [
    "tests.fixtures.discord",
    "tests.fixtures.sim",
    "tests.fixtures.bot",
    "tests.fixtures.store",
]

#: Modules that read the one CI chaos soak (`rig.soak.ci_result`, run once per process):
#: run together in one xdist worker.
SOAK_MODULES = ("tests/test_soak.py", "tests/test_secrets.py")
#: The longest modules first (the soak ~50 s, its PostgreSQL run ~25 s in the other worker, the
#: failover, a SIGKILL-and-restart ~20 s on each backend, then the bot's end-to-end tests), so
#: that the two workers end together rather than one waiting on the other's last long module.
#: Only the order changes; the rest keep theirs.
LONGEST_FIRST = (
    *SOAK_MODULES,
    "tests/test_soak_pg.py",
    "tests/test_failover.py",
    "tests/test_survival.py",
    "tests/test_restart.py",
    "tests/test_bot_alerts.py",
    "tests/test_hostile.py",
    "tests/test_bot_commands.py",
    "tests/test_fastpaths.py",
    "tests/test_watch.py",
    "tests/test_http_demo.py",
    "tests/test_run_cli.py",
    "tests/test_status_cli.py",
)


#: The user property under which test_soak.py hands over the soak's counts for the summary.
SOAK_REPORT = "soak_report"
#: The same for test_failover.py's counts (alerts expected, posted, duplicated, lost).
FAILOVER_REPORT = "failover_report"
#: Each report's heading in the summary.
REPORTS = {SOAK_REPORT: "chaos soak", FAILOVER_REPORT: "failover"}


def pytest_configure(config: pytest.Config) -> None:
    """Stop the run at once, naming the server, when the PostgreSQL every machine runs cannot
    be reached (half the store tests need it): once, in the controller, never a skip."""
    if hasattr(config, "workerinput") or config.getoption("collectonly"):
        return
    from rig.store import pg_unreachable

    problem = pg_unreachable()
    if problem is not None:
        raise pytest.UsageError(problem)


@pytest.fixture
def soak_summary(record_property: Callable[[str, object], None]) -> Callable[[str], None]:
    """Hands the chaos soak's counts to the end-of-run summary (`pytest_terminal_summary`)."""
    return lambda text: record_property(SOAK_REPORT, text)


@pytest.fixture
def failover_summary(record_property: Callable[[str, object], None]) -> Callable[[str], None]:
    """Hands the failover test's counts to the end-of-run summary."""
    return lambda text: record_property(FAILOVER_REPORT, text)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the chaos soak's and the failover's counts, passed or failed. A test's own prints
    would be lost in an xdist worker; its user properties travel with its report to the
    controller."""
    for outcome in ("passed", "failed"):
        for rep in terminalreporter.stats.get(outcome, []):
            for name, value in getattr(rep, "user_properties", ()):
                if name in REPORTS and getattr(rep, "when", "") == "call":
                    terminalreporter.write_sep("-", REPORTS[name])
                    terminalreporter.write_line(str(value))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {m: i for i, m in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile`, with the soak's modules as one unit (xdist's own `loadgroup` does
    not group under pytest 9)."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SoakTogether(LoadFileScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "soak" if module in SOAK_MODULES else module

    return SoakTogether(config, log)
