"""The replyUrl receiver: useapi calls `POST /hooks/useapi/{REPLY_SECRET}[/{provider}]` when a
job ends (MiniMax also while it runs). A callback is a hint only: `shape` finds which job it
names, `Receiver` re-reads that job from useapi after the answer and announces what the re-read
says, with the poller's own event keys; `web` is the HTTP side."""

from bot.hooks.receiver import Receiver, ReceiverConfig
from bot.hooks.shape import Named, Unrecognised, find_job

__all__ = ["Named", "Receiver", "ReceiverConfig", "Unrecognised", "find_job"]
