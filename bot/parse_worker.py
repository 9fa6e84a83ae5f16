"""What each parse process runs besides its jobs: exit when the bot's process is gone.

Stopped normally, the bot shuts its pool down. Killed (SIGKILL, the OOM killer) it cannot,
and the workers, each holding the job queue's pipe open for the others, would wait for
work forever: 29 MB each, two per restart, seen left behind by tests that kill the bot.
Light on purpose, like ``bot.cli``: a parse process imports this module to start.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from multiprocessing.connection import wait


def exit_with_parent() -> None:
    """The pool's initializer: a daemon thread that ends this process when its parent's
    sentinel (a pipe the parent holds open) says the parent has exited."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])
        os._exit(0)  # no cleanup to do: the jobs are pure and the parent is gone

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
