"""Read-only commands for everyone: /queue, /capacity, /job, /status (/capacity history: see
cogs/history.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, errors, validate
from bot.complete import CHOICE_MAX, CHOICES_MAX, Ambiguous, job_choices, unmask
from bot.embeds.accounts import account_marks
from bot.models import Snapshot
from bot.paginator import Paginator
from bot.text import display_account, neutralise_bidi
from cogs.history import Period, capacity_history

if TYPE_CHECKING:
    from bot.app import OpsBot

log = logging.getLogger(__name__)

#: How long a command waits for upstream before it answers with what it has.
FETCH_TIMEOUT = 12.0
#: Seconds after which the page buttons of a reply stop working (Discord keeps an interaction
#: token for 15 minutes, so this must stay well below that).
PAGE_TIMEOUT = 180.0
#: Why a masked id (REDACT_ACCOUNTS) cannot be looked up.
MASKED_GONE = (
    "That id has its e-mail masked, so opsbot can look it up only while the job is in the "
    "queue, and it is not any more. Paste the job's full id."
)
MASKED_TWICE = (
    "With e-mails masked that id reads the same for more than one running job. "
    "Paste the job's full id."
)


class StatusCog(commands.Cog, name="Status"):
    """Queue, capacity, job and health views."""

    def __init__(self, bot: OpsBot, *, page_timeout: float = PAGE_TIMEOUT) -> None:
        self.bot = bot
        #: How long page buttons stay live; tests shorten it.
        self.page_timeout = page_timeout

    # -- helpers -----------------------------------------------------------------------------
    def _names(self, provider: str | None) -> list[str]:
        if provider is None:
            return sorted(self.bot.providers)
        if provider not in self.bot.providers:
            raise validate.InputError(f'Provider "{provider}" is not enabled here.')
        return [provider]

    @property
    def _redact(self) -> bool:
        return self.bot.settings.redact_accounts

    def _error_embed(self, exc: errors.UpstreamError) -> discord.Embed:
        return embeds.error_embed(exc, titles=self.bot.titles(), redact=self._redact)

    async def _reply(
        self, interaction: discord.Interaction, pages: Sequence[discord.Embed], *, private: bool
    ) -> None:
        """Send `pages` (first page plus buttons when there are several) as the answer.

        After a defer the answer replaces the "thinking…" message (it keeps the defer's
        visibility); otherwise it is the interaction's first response.
        """
        view = Paginator.for_pages(
            list(pages), owner_id=interaction.user.id, timeout=self.page_timeout
        )
        first = list(pages[:1])
        if interaction.response.is_done():
            if view is not None:
                view.message = await interaction.edit_original_response(embeds=first, view=view)
            else:
                await interaction.edit_original_response(embeds=first)
            return
        if view is not None:
            sent = await interaction.response.send_message(
                embeds=first, view=view, ephemeral=private
            )
            message = sent.resource if sent is not None else None
            view.message = (
                message
                if isinstance(message, discord.InteractionMessage)
                else await interaction.original_response()
            )
        else:
            await interaction.response.send_message(embeds=first, ephemeral=private)

    async def _error(
        self, interaction: discord.Interaction, embed: discord.Embed, *, private: bool = True
    ) -> None:
        """Errors are always ephemeral, even after a public defer."""
        if not interaction.response.is_done():
            await interaction.response.send_message(embed=embed, ephemeral=True)
            return
        if private:
            # The deferred "thinking…" message is already ephemeral: it becomes the error.
            await interaction.edit_original_response(embed=embed)
            return
        # A public "thinking…" message cannot turn ephemeral: remove it, then tell the
        # invoker alone.
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.debug("could not delete the deferred response", exc_info=True)
        await interaction.followup.send(embed=embed, ephemeral=True)

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Whatever broke, the invoker gets an answer (never "The application did not
        respond") and the log gets the traceback."""
        command = interaction.command.qualified_name if interaction.command else "?"
        cause = error.__cause__ or error
        log.error("/%s failed", command, exc_info=(type(cause), cause, cause.__traceback__))
        embed = discord.Embed(
            title="Something went wrong inside opsbot",
            description="The error was logged. Try again in a moment.",
            colour=embeds.BAD,
        )
        private = bool(getattr(interaction.namespace, "private", False))
        try:
            await self._error(interaction, embed, private=private)
        except discord.HTTPException:
            log.warning("/%s: could not tell the invoker about the failure", command, exc_info=True)

    async def _snapshots(
        self, interaction: discord.Interaction, names: Sequence[str], *, private: bool
    ) -> tuple[list[Snapshot], datetime | None] | None:
        """Snapshots for `names`: each provider's own when fresh, else defer and fetch. What a
        fetch gets is recorded in that provider's state, for the next command and every view.

        Returns None when it already answered with an error embed.
        """
        now = self.bot.clock()
        missing = [n for n in names if self.bot.state(n).fresh(now) is None]
        failures: list[errors.UpstreamError] = []
        if missing:
            await interaction.response.defer(ephemeral=private, thinking=True)
            results = await asyncio.gather(
                *(asyncio.wait_for(self.bot.providers[n].fetch(), FETCH_TIMEOUT) for n in missing),
                return_exceptions=True,
            )
            for name, result in zip(missing, results, strict=True):
                state = self.bot.state(name)
                if isinstance(result, Snapshot):
                    state.saw(result, ok_at=result.taken_at)
                elif isinstance(result, errors.UpstreamError):
                    state.failed(result, at=self.bot.clock())
                    failures.append(result)
                elif isinstance(result, TimeoutError):
                    failures.append(
                        errors.UpstreamTimeout("no answer from useapi in time", provider=name)
                    )
                elif isinstance(result, BaseException):
                    raise result
        states = [self.bot.state(n) for n in names]
        snaps = [s.snapshot for s in states if s.snapshot is not None]
        if failures and len(snaps) < len(names):
            await self._error(interaction, self._error_embed(failures[0]), private=private)
            return None
        oldest = min((s.fetched_at for s in states if s.fetched_at is not None), default=None)
        return snaps, oldest

    # -- commands ----------------------------------------------------------------------------
    @app_commands.command(name="queue")
    @app_commands.describe(
        provider="Only this provider (default: all)",
        account="Only this account",
        private="Answer only to you",
        mine="Only the jobs submitted for you (replyRef discord:<your id>)",
    )
    async def queue(
        self,
        interaction: discord.Interaction,
        provider: str | None = None,
        account: str | None = None,
        private: bool = False,
        mine: bool = False,
    ) -> None:
        """What is running now, longest-running first."""
        try:
            names = self._names(provider)
            if account is not None:
                account = validate.free_text(account, what="account")
        except validate.InputError as exc:
            await self._error(interaction, embeds.input_error_embed(str(exc)))
            return
        got = await self._snapshots(interaction, names, private=private)
        if got is None:
            return
        snaps, fetched_at = got
        pages = embeds.queue_pages(
            snaps,
            now=self.bot.clock(),
            titles=self.bot.titles(),
            account=account or None,
            stuck_after=timedelta(minutes=self.bot.settings.stuck_after_minutes),
            redact=self._redact,
            fetched_at=fetched_at,
            progress={s.provider: self.bot.state(s.provider).progress for s in snaps},
            mine=interaction.user.id if mine else None,
            stuck_limits={n: w.stuck_limits.seconds() for n, w in self.bot.watchers.items()},
        )
        await self._reply(interaction, pages, private=private)

    @queue.autocomplete("account")
    async def _account_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        provider = getattr(interaction.namespace, "provider", None)
        held = {
            n: snap for n, w in self.bot.watchers.items() if (snap := w.state.snapshot) is not None
        }
        names = [provider] if provider in held else sorted(held)
        seen: dict[str, None] = {}
        for name in names:
            snap = held[name]
            for acc in snap.accounts:
                seen[acc.account] = None
            for job in snap.jobs:
                if job.account:
                    seen[job.account] = None
        needle = current.strip().lower()
        # With REDACT_ACCOUNTS the masked form is both what is shown and what is sent back
        # (the /queue filter accepts it), so no raw e-mail ever leaves the bot.
        shown = dict.fromkeys(display_account(a, self._redact) for a in seen)
        return [
            app_commands.Choice(name=neutralise_bidi(a)[:CHOICE_MAX], value=a[:CHOICE_MAX])
            for a in shown
            if needle in a.lower()
        ][:CHOICES_MAX]

    @app_commands.command(name="capacity")
    @app_commands.describe(
        provider="Only this provider (default: all)",
        private="Answer only to you",
        history="A chart of capacity used over this period instead of the present",
    )
    async def capacity(
        self,
        interaction: discord.Interaction,
        provider: str | None = None,
        private: bool = False,
        history: Period | None = None,
    ) -> None:
        """Free slots per account (executing / maxJobs); with history: capacity used over
        time, as a chart."""
        try:
            names = self._names(provider)
        except validate.InputError as exc:
            await self._error(interaction, embeds.input_error_embed(str(exc)))
            return
        if history is not None:
            await capacity_history(
                self.bot,
                interaction,
                period=history,
                names=names,
                provider=provider,
                private=private,
            )
            return
        got = await self._snapshots(interaction, names, private=private)
        if got is None:
            return
        snaps, _ = got
        checker = self.bot.account_checker
        now = self.bot.clock()
        marks = (
            account_marks(checker.health, now, checker.config.warn) if checker is not None else {}
        )
        pages = embeds.capacity_pages(
            snaps, now=now, titles=self.bot.titles(), redact=self._redact, marks=marks
        )
        await self._reply(interaction, pages, private=private)

    @app_commands.command(name="job")
    @app_commands.describe(
        provider="The provider that ran the job", id="The job id", private="Answer only to you"
    )
    async def job(
        self, interaction: discord.Interaction, provider: str, id: str, private: bool = False
    ) -> None:
        """What became of one job: outcome, times, prompt, results, upstream error."""
        try:
            [name] = self._names(provider)
            job_id = self._unmasked(name, validate.job_id(id))
        except validate.InputError as exc:
            await self._error(interaction, embeds.input_error_embed(str(exc)))
            return
        await interaction.response.defer(ephemeral=private, thinking=True)
        try:
            result = await asyncio.wait_for(
                self.bot.providers[name].fetch_job(job_id), FETCH_TIMEOUT
            )
        except errors.UpstreamError as exc:
            await self._error(interaction, self._error_embed(exc), private=private)
            return
        except TimeoutError:
            await self._error(
                interaction,
                self._error_embed(
                    errors.UpstreamTimeout("no answer from useapi in time", provider=name)
                ),
                private=private,
            )
            return
        if result.reply_ref is None:
            # Some job bodies do not carry the replyRef the queue listed (Kling, Runway).
            result = dataclasses.replace(result, reply_ref=self._queued_ref(name, result.id))
        embed = embeds.job_embed(
            result,
            titles=self.bot.titles(),
            redact=self._redact,
            previews=self.bot.settings.show_previews,
        )
        await interaction.edit_original_response(embed=embed)

    @job.autocomplete("id")
    async def _job_id_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The chosen provider's running jobs, newest first (the last snapshot: no upstream
        call); nothing until a provider is chosen."""
        watcher = self.bot.watchers.get(str(getattr(interaction.namespace, "provider", "")))
        snap = watcher.state.snapshot if watcher is not None else None
        return job_choices(snap, current, now=self.bot.clock(), redact=self._redact)

    def _unmasked(self, provider: str, job_id: str) -> str:
        """The running job's own id for an id autocomplete offered masked (REDACT_ACCOUNTS)."""
        if not self._redact or "***@" not in job_id:
            return job_id
        snap = self.bot.state(provider).snapshot
        try:
            found = unmask(snap, job_id, redact=True)
        except Ambiguous:
            raise validate.InputError(MASKED_TWICE) from None
        if found == job_id and (snap is None or all(j.id != job_id for j in snap.jobs)):
            raise validate.InputError(MASKED_GONE)
        return found

    def _queued_ref(self, provider: str, job_id: str) -> str | None:
        """The `replyRef` of `job_id` in the provider's last snapshot, if it is listed."""
        watcher = self.bot.watchers.get(provider)
        snap = watcher.state.snapshot if watcher is not None else None
        if snap is None:
            return None
        return next((j.reply_ref for j in snap.jobs if j.id == job_id), None)

    @app_commands.command(name="status")
    @app_commands.describe(private="Answer only to you")
    async def status(self, interaction: discord.Interaction, private: bool = False) -> None:
        """One view of every provider: running jobs, capacity used, watcher health."""
        checker = self.bot.account_checker
        health = checker.health if checker is not None else None
        embed = embeds.status_embed(
            self.bot.provider_statuses(),
            now=self.bot.clock(),
            titles=self.bot.titles(),
            redact=self._redact,
            account_checks=checker is not None,
            subscription=health.subscription.subscription if health is not None else None,
        )
        await interaction.response.send_message(embed=embed, ephemeral=private)


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(StatusCog(bot))
