"""History: what the watcher saw over time (capacity samples, finished jobs), as plain records.
The store keeps them (`bot/store/history.py`); stats, charts and the alerts that need history
read them. `capture` makes them from a snapshot or a resolved job."""

from bot.history.capture import finished_of, samples_of
from bot.history.records import Finished, Sample, Via

__all__ = ["Finished", "Sample", "Via", "finished_of", "samples_of"]
