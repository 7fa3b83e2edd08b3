"""History: what the watcher saw over time (capacity samples, finished jobs), as plain records.
The store keeps them (`bot/store/history.py`); stats, charts and the alerts that need history
read them."""

from bot.history.records import Finished, Sample, Via

__all__ = ["Finished", "Sample", "Via"]
