"""The composition root: opens every long-lived resource once, wires the parts, runs the bot.

aiohttp session ─┬─ SlackClients ─┬─ Bolt app + handlers ── Intake, TurnControls, drops, Removal
                 │  (per team)    ├─ SlackRenderer (per turn), SlackSurface (notices)
                 │                └─ Slack readers ─────────┐
                 └─ FileRelay ───── OpenAIEngine ───────────┼─ Answerer ── AnalystService ── Worker
store (SQLite/PostgreSQL) ──────────────────────────────────┘
                                     OpenAIEngine + store ── RetentionJob (hourly)

`SlackClients` gives every Slack call the client of its workspace: the one client of
`SLACK_BOT_TOKEN`, or with OAuth installs one per installed workspace (`bot.slack.clients`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

import handlers
from bot.cleanup import retention_job
from bot.core.access import Gate
from bot.core.answering import Answerer
from bot.core.budgets import Spending
from bot.core.channel_profiles import ChannelProfiles
from bot.core.controls import TurnControls
from bot.core.exporting import NotebookExporter
from bot.core.functions import visual_tools
from bot.core.home import UsageDesk
from bot.core.intake import Intake
from bot.core.progress import saved_in
from bot.core.removal import Removal
from bot.core.retention import RetentionJob
from bot.core.service import AnalystService
from bot.core.turns import Turn
from bot.core.uploads import UploadLifetime
from bot.core.worker import Worker
from bot.core.workspace import WorkspaceBuilder
from bot.engine import OpenAIEngine, open_client
from bot.metrics import Metrics
from bot.probes import Probes
from bot.profile.drop import FileDropProfiler
from bot.settings import Secret, Settings
from bot.slack.analyst_command import AnalystCommand
from bot.slack.app import build_app
from bot.slack.client import ScheduledSlack, SlackApp, slack_client
from bot.slack.clients import InstalledWorkspaces, OneWorkspace, SlackClients
from bot.slack.delivery import SlackDelivery
from bot.slack.downloads import FileRelay
from bot.slack.home_tab import HomeTab
from bot.slack.inbox import EventInbox
from bot.slack.installs import Installs
from bot.slack.reads import SlackDirectory, SlackFileResolver, SlackThreadHistory
from bot.slack.renderer import SlackRenderer
from bot.slack.sessions import SessionSupport
from bot.slack.surface import SlackSurface
from bot.slack.uploads import SlackUploads
from store import Store, open_store

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a running bot is made of (tests reach in through this)."""

    settings: Settings
    app: SlackApp
    intake: Intake
    service: AnalystService
    worker: Worker
    store: Store
    slack: SlackClients
    retention: RetentionJob
    health: Probes
    """What `/livez`, `/readyz`, `/healthz` and `/metrics` answer."""
    metrics: Metrics
    """This process's counters: `metrics.turn_resumed()` and friends."""
    inbox: EventInbox
    """Slack events recorded before they are acknowledged (the front door's)."""

    @property
    def draining(self) -> bool:
        """SIGTERM arrived: the process takes no new work and reports not ready."""
        return self.health.draining

    def begin_drain(self) -> None:
        """Report not ready from now on (idempotent). Stopping claims and handing back turns
        are the worker's part of the drain."""
        self.health.begin_drain()


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, *, native_stream: bool = True) -> AsyncIterator[Runtime]:
    """Open resources, wire the bot, start the worker; close everything on exit."""
    metrics = Metrics()
    async with contextlib.AsyncExitStack() as stack:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120)
        session = await stack.enter_async_context(aiohttp.ClientSession(timeout=timeout))
        store = await stack.enter_async_context(
            open_store(settings.database_url, park_window_s=settings.park_window_s)
        )
        openai_client = await stack.enter_async_context(open_client(settings))
        # OAuth: no token (the install flow's)
        base = slack_client(settings, session, observer=metrics.slack_call)
        clients, installs = _slack_clients(settings, session, store, base, metrics)
        engine = OpenAIEngine(
            openai_client,
            model=settings.model,
            rate_limit_budget_s=settings.rate_limit_wait_s,
            idle_timeout_s=settings.stream_idle_timeout_s,
            retention_days=settings.retention_days,
            on_error=metrics.openai_error,
        )
        directory = SlackDirectory(clients)
        relay = FileRelay(
            session,
            tokens=clients.token,
            allowed_hosts=settings.slack_file_hosts,
            redirect_hosts=settings.slack_file_redirect_hosts,
            max_bytes=settings.max_file_bytes,
            uploader=engine,
            resolve=SlackFileResolver(clients),
        )
        history = SlackThreadHistory(clients, directory)
        sessions = SessionSupport()
        stack.push_async_callback(sessions.drain)  # after the worker drained its turns
        uploads = SlackUploads(clients, session)
        surface = SlackSurface(clients, sessions, uploads)
        delivery = SlackDelivery(clients, store.replies, sessions)

        def renderer(turn: Turn, turn_id: int) -> SlackRenderer:
            return SlackRenderer(
                clients.for_team(turn.key.team_id),
                uploads=uploads,
                delivery=delivery,
                sessions=sessions,
                key=turn.key,
                user_id=turn.user_id,
                turn_id=turn_id,
                native_stream=native_stream,
                on_sign=lambda: metrics.first_sign(turn_id),
            )

        profiles = ChannelProfiles(
            store=store.channels,
            managed=settings.channel_profiles,
            models=settings.model_choices,
            default_model=settings.model,
        )
        spending = Spending(
            usage=store.usage,
            budgets=settings.budgets,
            prices=settings.prices,
            default_model=settings.model,
            directory=directory,
            notices=surface,
            offered=settings.model_choices,
        )
        answerer = Answerer(
            store=store,
            engine=engine,
            workspace=WorkspaceBuilder(
                store=store,
                engine=engine,
                relay=relay,
                max_file_bytes=settings.max_file_bytes,
                uploads=UploadLifetime(engine.upload_lifetime),
            ),
            directory=directory,
            history=history,
            instructions=settings.instructions,
            functions=visual_tools(),
            profiles=profiles,
            spending=spending,
        )
        service = AnalystService(
            answerer=answerer,
            renderers=renderer,
            directory=directory,
            turn_timeout_s=settings.turn_timeout_s,
            spending=spending,
            save_progress=saved_in(store.turns),
        )
        intake = Intake(store=store, notices=surface, running_in=service.running_in)
        owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        worker = Worker(
            turns=store.turns,
            run=metrics.observed(service.run),
            report_interrupted=metrics.interruptions(service.report_interrupted),
            cancel=lambda turn_id, by: service.cancel(turn_id, by=by),
            abandon=service.abandon,
            replies=store.replies,
            redeliver=delivery.redeliver,
            owner=owner,
            capacity=settings.max_concurrent_turns,
            lease_s=settings.lease_s,
        )
        intake.on_submit(worker.wake)
        exporter = NotebookExporter(store=store, files=relay, directory=directory, notices=surface)
        controls = TurnControls(
            store=store,
            service=service,
            intake=intake,
            notices=surface,
            history=history,
            exporter=exporter,
        )
        drops = FileDropProfiler(store=store, fetcher=relay, poster=surface, channels=profiles)
        analyst = AnalystCommand(clients, session, profiles=profiles, directory=directory)
        desk = UsageDesk(
            usage=store.usage,
            budgets=settings.budgets,
            directory=directory,
            admins=settings.admins,
        )
        removal = Removal(store=store, installations=installs, stop_running=service.stop_workspace)
        back = store.retired.returned if installs is None else None  # OAuth: on install
        app = build_app(settings, client=base, installs=installs, back=back)
        gate = Gate(settings.access, store=store, notices=surface)
        handlers.register(
            app, intake, controls, drops, analyst, gate, HomeTab(clients, desk), removal
        )
        await stack.enter_async_context(worker.started(grace_s=settings.shutdown_grace_s))
        stack.push_async_callback(intake.quiesce)  # runs before the worker drains
        retention = retention_job(settings, store, engine, owner=owner)
        await stack.enter_async_context(retention.started(interval_s=settings.retention_interval_s))
        probes = Probes(
            store=store, metrics=metrics, running=lambda: worker.running, mode=settings.mode
        )
        probes.slack_ready = settings.mode != "socket"  # Socket Mode: once connected
        inbox = EventInbox(
            store.events,
            owner=owner,
            lease_s=settings.lease_s,
            on_recovered=metrics.event_redelivered,
        )
        yield Runtime(
            settings,
            app,
            intake,
            service,
            worker,
            store,
            clients,
            retention,
            probes,
            metrics,
            inbox,
        )


def _slack_clients(
    settings: Settings,
    session: aiohttp.ClientSession,
    store: Store,
    base: ScheduledSlack,
    metrics: Metrics,
) -> tuple[SlackClients, Installs | None]:
    """The one workspace's client (`SLACK_BOT_TOKEN`), or a client per installed workspace
    and where installs are recorded (OAuth)."""
    if not settings.oauth:
        return OneWorkspace(base, _present(settings.slack_bot_token)), None
    clients = InstalledWorkspaces(
        store.installations,
        lambda credentials: slack_client(
            settings, session, credentials=credentials, observer=metrics.slack_call
        ),
    )
    return clients, Installs(store.installations, clients, store.retired)


def _present(secret: Secret | None) -> Secret:
    assert secret is not None
    return secret
