"""`/cancel provider id` and the *Untrack* button of `stuck` alerts: untrack a running job.

Untracking is useapi's `DELETE …/scheduler/{id}`: useapi stops tracking the job and stops its
replyUrl callbacks; the generation may still run upstream. Who may: Manage Server, or the role
`CANCEL_ROLE_ID`. The flow, always ephemeral: permission → the provider can untrack → the job
is in the provider's current snapshot (no upstream call for an id that is not running) → a
confirm button → the DELETE → the answer. A success is recorded in the store, so the watcher
reports the job `cancelled` once when it leaves the queue; from an alert, the alert's message
also gets a line saying who untracked it and when.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import errors, validate
from bot.complete import Ambiguous, job_choices, unmask
from bot.embeds.layout import cut
from bot.models import Snapshot
from bot.text import display_id, escape, redact_email, truncate
from bot.untrack import JobRef, UntrackButton, rebuilt_view

if TYPE_CHECKING:
    from bot.app import OpsBot

log = logging.getLogger(__name__)

#: Seconds the confirm buttons stay live.
CONFIRM_TIMEOUT = 120.0
CONTENT_MAX = 2000
SHOWN_ID_CHARS = 200
MEANING = (
    "Untracking means useapi stops tracking this job and stops its callbacks (replyUrl), "
    "but the generation may still run upstream."
)
NOT_ALLOWED = (
    "You cannot untrack jobs: that needs the **Manage Server** permission{role}. "
    "Nothing was changed."
)
DONE = (
    "Untracked {what}: useapi no longer tracks it or calls its replyUrl (the generation may "
    "still run upstream). It leaves /queue at the next poll and is reported once as cancelled."
)


class ConfirmView(discord.ui.View):
    """Untrack / Keep it, for the member who asked (the message is ephemeral: only they see it)."""

    def __init__(
        self,
        on_confirm: Callable[[discord.Interaction], Awaitable[None]],
        *,
        timeout: float = CONFIRM_TIMEOUT,
    ) -> None:
        super().__init__(timeout=timeout)
        self._on_confirm = on_confirm
        #: The interaction whose answer holds these buttons (to take them away on timeout).
        self.asked: discord.Interaction | None = None

    async def on_timeout(self) -> None:
        if self.asked is None:
            return
        try:
            await self.asked.edit_original_response(
                content="Not untracked: the question went unanswered. Nothing was changed.",
                view=None,
            )
        except discord.HTTPException:
            log.debug("could not take the confirm buttons away", exc_info=True)

    @discord.ui.button(label="Untrack", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        self.stop()
        # Buttons off at once (no second DELETE from a double click); the answer follows.
        await interaction.response.edit_message(content="Untracking…", view=None)
        await self._on_confirm(interaction)

    @discord.ui.button(label="Keep it", style=discord.ButtonStyle.secondary)
    async def keep(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Kept: nothing was changed.", view=None)


class CancelCog(commands.Cog, name="Cancel"):
    """Untrack a running job, from /cancel or from a stuck alert's button."""

    def __init__(self, bot: OpsBot, *, confirm_timeout: float = CONFIRM_TIMEOUT) -> None:
        self.bot = bot
        #: How long the confirm buttons stay live; tests shorten it.
        self.confirm_timeout = confirm_timeout

    async def cog_load(self) -> None:
        # Registered at start-up, so the buttons of alerts posted before a restart still work.
        self.bot.add_dynamic_items(UntrackButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(UntrackButton)

    @property
    def _redact(self) -> bool:
        return self.bot.settings.redact_accounts

    # -- who, what ---------------------------------------------------------------------------
    def refusal(self, interaction: discord.Interaction) -> str | None:
        """Why this member may not untrack (None: they may)."""
        role_id = self.bot.settings.cancel_role_id
        role = f" or the <@&{role_id}> role" if role_id else ""
        member = interaction.user
        if interaction.guild is None or not isinstance(member, discord.Member):
            return NOT_ALLOWED.format(role=role)
        if interaction.permissions.manage_guild:
            return None
        if role_id and any(r.id == role_id for r in member.roles):
            return None
        return NOT_ALLOWED.format(role=role)

    def allows(self, interaction: discord.Interaction, command: object) -> bool:
        """Whether this member may untrack (for /help)."""
        return self.refusal(interaction) is None

    def _check_provider(self, provider: str) -> str | None:
        """Why `provider` cannot untrack here (None: it can)."""
        adapter = self.bot.providers.get(provider)
        if adapter is None:
            return f'Provider "{escape(truncate(provider, 40))}" is not enabled here.'
        if not adapter.can_untrack:
            return (
                f"{adapter.title} jobs cannot be untracked: useapi offers no way to stop "
                f"tracking a {adapter.title} job. Nothing was changed."
            )
        return None

    async def _running(self, provider: str, ref: JobRef) -> tuple[str | None, str | None]:
        """(the running job id, None), or (None, why not) from the current snapshot: the
        watcher's, else (just after a start, before its first tick) the one it stored."""
        title = self.bot.providers[provider].title
        snap: Snapshot | None = self.bot.state(provider).snapshot
        if snap is None:
            try:
                snap = await self.bot.store.load_snapshot(provider)
            except Exception:
                log.warning("%s: could not read the stored snapshot", provider, exc_info=True)
        if snap is None:
            return None, (
                f"opsbot has not read {title}'s queue yet, so it cannot tell whether that job "
                "is running. Try again after the next poll."
            )
        for job in snap.jobs:
            if ref.matches(job.id):
                return job.id, None
        if self._redact and ref.job_id is not None:
            # autocomplete offers ids with their e-mails masked (bot.complete)
            try:
                found = unmask(snap, ref.job_id, redact=True)
            except Ambiguous:
                return None, (
                    "With e-mails masked that id reads the same for more than one running "
                    "job. Paste the job's full id. Nothing was changed."
                )
            if found != ref.job_id:
                return found, None
        what = f"`{_shown(ref.job_id, self._redact)}`" if ref.job_id else "that job"
        return None, (
            f"{title} is not running {what} (as of the last poll): there is nothing to untrack."
        )

    # -- the command -------------------------------------------------------------------------
    @app_commands.command(name="cancel")
    @app_commands.describe(provider="The provider running the job", id="The running job's id")
    @app_commands.guild_only()
    async def cancel(self, interaction: discord.Interaction, provider: str, id: str) -> None:
        """Untrack a running job: useapi stops tracking it and its callbacks (asks first)."""
        found, why = None, self.refusal(interaction) or self._check_provider(provider)
        if why is None:
            try:
                job_id = validate.job_id(id)
            except validate.InputError as exc:
                why = str(exc)
            else:
                found, why = await self._running(provider, JobRef(provider, job_id=job_id))
        if found is None:
            await _tell(interaction, why or "Nothing to untrack.")
            return
        await self._ask(interaction, provider, found, alert=None)

    @cancel.autocomplete("id")
    async def _id_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The chosen provider's running jobs, newest first, from the last snapshot (no
        upstream call); nothing for a member who may not untrack or a provider that cannot."""
        provider = str(getattr(interaction.namespace, "provider", ""))
        if self.refusal(interaction) is not None or self._check_provider(provider) is not None:
            return []
        snap = self.bot.state(provider).snapshot
        return job_choices(snap, current, now=self.bot.clock(), redact=self._redact)

    # -- the alert button --------------------------------------------------------------------
    async def untrack_from_alert(self, interaction: discord.Interaction, ref: JobRef) -> None:
        """A click on a stuck alert's *Untrack*: the same checks and confirmation."""
        found, why = None, self.refusal(interaction) or self._check_provider(ref.provider)
        if why is None:
            found, why = await self._running(ref.provider, ref)
        if found is None:
            await _tell(interaction, why or "Nothing to untrack.")
            return
        await self._ask(interaction, ref.provider, found, alert=interaction.message)

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Whatever broke, the member gets an answer and the log the traceback."""
        log.error("/cancel failed", exc_info=error.__cause__ or error)
        text = "Something went wrong inside opsbot; the error was logged. Nothing was untracked."
        try:
            if interaction.response.is_done():
                await _edit(interaction, text)
            else:
                await _tell(interaction, text)
        except discord.HTTPException:
            log.warning("/cancel: could not tell the member about the failure", exc_info=True)

    # -- the flow ----------------------------------------------------------------------------
    async def _ask(
        self,
        interaction: discord.Interaction,
        provider: str,
        job_id: str,
        *,
        alert: discord.Message | None,
    ) -> None:
        title = self.bot.providers[provider].title
        cid = interaction.data.get("custom_id") if alert is not None and interaction.data else None

        async def confirmed(click: discord.Interaction) -> None:
            await self._untrack(
                click, provider, job_id, alert=alert, button=cid if isinstance(cid, str) else None
            )

        view = ConfirmView(confirmed, timeout=self.confirm_timeout)
        view.asked = interaction
        await interaction.response.send_message(
            f"Untrack {title} job `{_shown(job_id, self._redact)}`?\n{MEANING}",
            view=view,
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    async def _untrack(
        self,
        click: discord.Interaction,
        provider: str,
        job_id: str,
        *,
        alert: discord.Message | None,
        button: str | None,
    ) -> None:
        adapter = self.bot.providers.get(provider)
        title = adapter.title if adapter is not None else provider
        what = f"{title} job `{_shown(job_id, self._redact)}`"
        if adapter is None:
            await _edit(
                click, f'Provider "{provider}" is not enabled any more. Nothing was changed.'
            )
            return
        try:
            await adapter.fetch_untrack(job_id)
        except errors.NotFound:
            await _edit(
                click,
                f"useapi is not running {what} (404): it may have just finished. "
                "Nothing was changed.",
            )
            return
        except errors.UpstreamError as exc:
            text = redact_email(str(exc)) if self._redact else str(exc)
            await _edit(click, f"Could not untrack {what}: {escape(truncate(text, 300))}")
            return
        now = self.bot.clock()
        note = ""
        try:
            await self.bot.store.record_untrack(provider, job_id, click.user.id, now)
        except Exception:
            log.exception("%s: could not record the untrack of %s", provider, job_id)
            note = (
                "\nopsbot could not record it, so its alert will say what useapi reports "
                "when it leaves the queue."
            )
        if alert is not None and button is not None:
            await self._mark_alert(alert, button, click.user.id, now, what)
        await _edit(click, DONE.format(what=what) + note)

    async def _mark_alert(
        self, alert: discord.Message, button: str, user_id: int, now: datetime, what: str
    ) -> None:
        """Say on the alert who untracked which job and when; that button is disabled. The
        message is read again first: another job's line may have been added meanwhile."""
        try:
            alert = await alert.channel.fetch_message(alert.id)
        except discord.HTTPException:
            log.debug("could not read alert message %s again", alert.id, exc_info=True)
        view = rebuilt_view(alert, disable=button)
        several = view is not None and len(view.children) > 1
        line = f"Untracked by <@{user_id}> at {discord.utils.format_dt(now, 'f')}"
        if several:
            line += f": {what}"
        content = cut(f"{alert.content}\n{line}".strip(), CONTENT_MAX)
        try:
            await alert.edit(
                content=content, view=view, allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.HTTPException:
            log.warning("could not mark alert message %s as untracked", alert.id, exc_info=True)


def _shown(job_id: str | None, redact: bool) -> str:
    """A job id inside backticks: e-mails masked when `redact`, cut, and no backtick to
    break out of them."""
    return truncate(display_id(job_id or "", redact), SHOWN_ID_CHARS).replace("`", "ˋ")


async def _tell(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.send_message(
        text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
    )


async def _edit(interaction: discord.Interaction, text: str) -> None:
    try:
        await interaction.edit_original_response(
            content=text, allowed_mentions=discord.AllowedMentions.none()
        )
    except discord.HTTPException:
        log.warning("could not answer the untrack", exc_info=True)


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(CancelCog(bot))
