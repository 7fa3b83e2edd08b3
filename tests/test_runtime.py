"""Which process leads a provider's polling: names of lease holders, and telling a dead one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from bot.runtime import holder_gone, watch_holder


def test_watch_holder_names_host_process_and_provider() -> None:
    assert watch_holder("minimax") == f"{socket.gethostname()}/{os.getpid()}/minimax"


def test_holder_gone_only_for_a_dead_process_of_this_host() -> None:
    host = socket.gethostname()
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(done.stdout)  # exited and reaped: no such process any more
    assert holder_gone(f"{host}/{dead}/pixverse")
    assert not holder_gone(watch_holder("pixverse"))  # ourselves
    assert not holder_gone(f"{host}/{os.getppid()}/pixverse")  # alive
    assert not holder_gone(f"{host}/1/pixverse")  # alive (and perhaps not ours to signal)
    assert not holder_gone(f"another-{host}/{dead}/pixverse")  # another host: cannot tell
    assert not holder_gone(f"{host}/pixverse")  # an older name, without a pid
    assert not holder_gone("watch-1a2b3c")
