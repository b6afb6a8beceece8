"""`valueloop`: run the platform on one machine (`up`), or its parts alone (`worker`, `api`)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from settings import Settings, venv_binary
from workflows.common import SEARCH_ATTRIBUTES, register_search_attributes

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()
err = Console(stderr=True)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing listens there. With SO_REUSEADDR, as the servers bind: the connections a killed server left in
    TIME_WAIT must not make `up` refuse to restart for a minute (a live listener still refuses the bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _secret(data_dir: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data dir."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = data_dir / "secret.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def temporal_command(port: int, ui_port: int, db_file: Path) -> list[str]:
    cmd = [str(venv_binary("temporal")), "server", "start-dev", "--port", str(port), "--ui-port", str(ui_port),
           "--db-filename", str(db_file), "--ip", "127.0.0.1", "--ui-ip", "127.0.0.1", "--log-level", "error",
           "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
    for key in SEARCH_ATTRIBUTES:
        cmd += ["--search-attribute", f"{key.name}={'Double' if key.name == 'Amount' else 'Keyword'}"]
    return cmd


def prepare_database(settings: Settings, demo: bool) -> bool:
    from domain import demo as demo_data
    from domain.core.db import Database
    from domain.migrations import upgrade
    from domain.planning import forecast_demo

    upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.write() as s:
            if demo:
                loaded = demo_data.load(s)
                if loaded:  # a few sales forecasts: kept out of demo.load, whose plans other tests count on
                    forecast_demo.load(s)
                return loaded
            demo_data.seed_reference(s)
            return False
    finally:
        db.dispose()


def first_admin(settings: Settings) -> str | None:
    """An empty company's first user, admin: its password (VALUELOOP_ADMIN_PASSWORD, else a random one) to show
    once; None when the database has users already."""
    from domain import demo as demo_data
    from domain.core.db import Database

    password = os.environ.get("VALUELOOP_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    db = Database(settings.database_url)
    try:
        with db.write() as s:
            return password if demo_data.first_admin(s, password) else None
    finally:
        db.dispose()


async def serve(settings: Settings, host: str, port: int, run_worker: bool = True, run_api: bool = True,
                on_ready: object = None, children: list[Supervised] | None = None,
                start_collections: bool = False) -> bool:
    """The API (and, with run_worker, a worker) in one event loop until SIGINT/SIGTERM, or until one
    of `children` (the processes `up` supervises) keeps failing."""
    import uvicorn

    from api.app import create_app
    from api.platform import Platform
    from domain.core.db import Database
    from worker import (
        connect,
        dispatch_notifications,
        run_workers,
        shutdown_tracing,
        worker_queues,
        workers_from_settings,
    )

    client = None
    for _ in range(120):
        try:
            client = await connect(settings)
            break
        except Exception:
            await asyncio.sleep(0.5)
    if client is None:
        err.print(f"[red]Temporal did not answer at {settings.temporal_address}[/red]")
        raise typer.Exit(1)
    try:
        added = await register_search_attributes(client)
        if added:
            console.print(f"registered search attributes: {', '.join(added)}")
    except Exception as e:  # a cluster may not let us: processes still run, only filtering lacks them
        err.print(f"[yellow]could not register search attributes ({e}); ask the cluster's operator[/yellow]")
    db = Database(settings.database_url)
    if start_collections:  # the demo's open invoices (its history): their collection processes
        from api.starters import invoice_collection
        started = await invoice_collection.start_missing(
            Platform(client, db, settings.task_queue, area_queues=settings.area_queues))
        console.print(f"started the collection of {len(started)} open invoice(s)")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks: list[asyncio.Task[object]] = []
    workers = workers_from_settings(client, db, settings) if run_worker else []
    server = None
    if run_api:
        app_ = create_app(settings, Platform(client, db, settings.task_queue, area_queues=settings.area_queues))
        config = uvicorn.Config(app_, host=host, port=port, log_level="warning", access_log=False)
        server = uvicorn.Server(config)
        tasks.append(asyncio.create_task(server.serve()))
    dispatcher = None
    if workers:
        tasks.append(asyncio.create_task(run_workers(workers)))
        # the notifications outbox: a Notify process per event (worker.dispatch_notifications)
        dispatcher = asyncio.create_task(dispatch_notifications(client, db, worker_queues(settings)[0]))
    if callable(on_ready):
        on_ready()

    async def watch() -> None:
        while all(c.check() for c in children or []):  # noqa: ASYNC110 - a child process has no event
            await asyncio.sleep(SUPERVISE_EVERY)
        err.print("[red]a child process keeps failing; stopping everything[/red]")

    watcher = asyncio.create_task(watch()) if children else None
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopper, *([watcher] if watcher else [])],
                                 return_when=asyncio.FIRST_COMPLETED)
    console.print("[yellow]stopping…[/yellow]")
    if watcher is not None:
        watcher.cancel()
    if dispatcher is not None:
        dispatcher.cancel()
    if server is not None:
        server.should_exit = True
    await asyncio.gather(*(w.shutdown() for w in workers), return_exceptions=True)
    await asyncio.gather(*tasks, return_exceptions=True)
    db.dispose()
    shutdown_tracing()
    for t in done:
        if t is not stopper and t is not watcher and (failure := t.exception()) is not None:
            raise failure
    return watcher is None or watcher not in done  # False: a child process kept dying under us


@app.command()
def up(
    port: Annotated[int, typer.Option(help="port of the API and web UI")] = 8000,
    temporal_port: Annotated[int, typer.Option(help="gRPC port of the Temporal dev server (its UI: +1000)")] = 7233,
    data_dir: Annotated[Path, typer.Option(help="where the databases live")] = Path("var"),
    demo: Annotated[bool, typer.Option(help="load the demo company into an empty database")] = False,
    host: Annotated[str, typer.Option(help="interface the API binds to")] = "127.0.0.1",
) -> None:
    """Start everything on this machine: Temporal dev server, worker, API and UI. Ctrl-C stops it."""
    ui_port = temporal_port + 1000
    if port in (temporal_port, ui_port):
        err.print(f"valueloop: port {port} is the Temporal server's (--temporal-port {temporal_port} serves gRPC on "
                  f"{temporal_port} and its UI on {ui_port}); choose another --port or --temporal-port")
        raise typer.Exit(2)
    for name, p in (("API", port), ("Temporal", temporal_port), ("Temporal UI", ui_port)):
        if not port_free(p):
            err.print(f"valueloop: port {p} ({name}) is already in use; choose another with "
                      f"{'--port' if name == 'API' else '--temporal-port'}")
            raise typer.Exit(2)
    data_dir.mkdir(parents=True, exist_ok=True)
    pidfile = data_dir / "valueloop.pid"  # whom `valueloop backup` holds for the instant of its snapshot
    pidfile.write_text(str(os.getpid()))
    env_url = os.environ.get("DATABASE_URL")
    settings = Settings(database_url=env_url or f"sqlite:///{data_dir.resolve()}/valueloop.db",
                        temporal_address=f"127.0.0.1:{temporal_port}",
                        temporal_ui_url=os.environ.get("TEMPORAL_UI_URL") or f"http://127.0.0.1:{ui_port}",
                        secret_key=_secret(data_dir),
                        # the files attached to documents live in the data dir, whichever database is used
                        attachments_dir=os.environ.get("ATTACHMENTS_DIR") or str(data_dir.resolve() / "attachments"))
    log = open(data_dir / "temporal.log", "ab")  # noqa: SIM115 - lives as long as the child
    temporal = Supervised("Temporal server", lambda: subprocess.Popen(
        temporal_command(temporal_port, ui_port, data_dir / "temporal.db"), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=_die_with_parent))
    try:
        with console.status("preparing the database…"):
            loaded = prepare_database(settings, demo)
        if demo:
            console.print("demo company loaded" if loaded else "database not empty: demo company not loaded again")
        admin_password = None if demo else first_admin(settings)

        def ready() -> None:
            table = Table(title="Valueloop is running", show_header=False, box=None)
            table.add_row("Web UI and API", f"http://{host}:{port}/")
            table.add_row("API docs", f"http://{host}:{port}/docs")
            table.add_row("Temporal UI", f"http://127.0.0.1:{ui_port}/")
            table.add_row("Temporal gRPC", f"127.0.0.1:{temporal_port}")
            table.add_row("Data", str(data_dir.resolve()))
            console.print(table)
            if demo:
                console.print("log in as alice, bob, …, admin with password [bold]demo[/bold]. Ctrl-C stops.")
            elif admin_password:
                console.print(f"first start: log in as [bold]admin[/bold] with password [bold]{admin_password}[/bold] "
                              "(shown this once; VALUELOOP_ADMIN_PASSWORD chooses it). Ctrl-C stops.")

        # The worker runs in a process of its own: API and worker each get a core's worth of Python.
        worker_env = {**os.environ, "DATABASE_URL": settings.database_url,
                      "TEMPORAL_ADDRESS": settings.temporal_address, "TASK_QUEUE": settings.task_queue,
                      "ATTACHMENTS_DIR": settings.attachments_dir,
                      # `up` is the whole platform: its worker polls every area's queue when they are split
                      "AREA_QUEUES": str(settings.area_queues).lower(), "WORKER_AREAS": "all"}
        clean = False
        worker_proc = Supervised("worker", lambda: subprocess.Popen(
            [sys.executable, "-m", "cli", "worker"], env=worker_env, cwd=Path(__file__).parent,
            preexec_fn=_die_with_parent))
        try:
            clean = asyncio.run(serve(settings, host, port, run_worker=False, on_ready=ready,
                                      children=[worker_proc, temporal], start_collections=loaded))
        finally:
            worker_proc.stop()
    finally:
        temporal.stop()
        log.close()
        pidfile.unlink(missing_ok=True)
    console.print("stopped")
    _exit_now(0 if clean else 1)


def _exit_now(code: int) -> None:
    """Everything is shut down: leave without interpreter finalization, during which the Temporal
    client's native threads can call into a dying interpreter ("PyGILState_Release" fatal error)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM when `up` dies, even by kill -9."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


SUPERVISE_EVERY = 0.5  # seconds between looks at the children


class Supervised:
    """A child process of `up`, started by `start` and started again when it dies, after a backoff that doubles
    from `first_delay` up to `max_delay`; `check` answers False (give up: stop everything) once it has died
    `max_failures` times within `window` seconds. Each death and restart is logged with its exit code."""

    def __init__(self, name: str, start: Callable[[], subprocess.Popen[bytes]], *, first_delay: float = 1.0,
                 max_delay: float = 30.0, max_failures: int = 5, window: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, say: Callable[[str], None] | None = None):
        self.name, self._start, self.clock = name, start, clock
        self.first_delay, self.max_delay, self.max_failures, self.window = first_delay, max_delay, max_failures, window
        self.say = say or (lambda text: err.print(text, markup=False))
        self.failures: deque[float] = deque()
        self.restart_at: float | None = None
        self.restarts = 0
        self.proc: subprocess.Popen[bytes] | None = start()

    def check(self) -> bool:
        now = self.clock()
        if self.restart_at is None and self.proc is not None and self.proc.poll() is not None:
            code = self.proc.returncode
            self.failures.append(now)
            while self.failures and self.failures[0] < now - self.window:
                self.failures.popleft()
            if len(self.failures) >= self.max_failures:
                self.say(f"valueloop: the {self.name} exited with code {code}, {len(self.failures)} times in "
                         f"{self.window:.0f} s; giving up")
                return False
            delay = min(self.max_delay, self.first_delay * 2 ** (len(self.failures) - 1))
            self.say(f"valueloop: the {self.name} exited with code {code}; starting it again in {delay:g} s")
            self.restart_at = now + delay
        if self.restart_at is not None and now >= self.restart_at:
            self.restart_at, self.proc = None, self._start()
            self.restarts += 1
            self.say(f"valueloop: the {self.name} is running again (pid {self.proc.pid})")
        return True

    def stop(self) -> None:
        self.restart_at = None
        if self.proc is not None:
            _stop_child(self.proc)


def _stop_child(proc: subprocess.Popen[bytes], grace: float = 15) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@app.command()
def worker() -> None:
    """Run the worker alone against TEMPORAL_ADDRESS and DATABASE_URL."""
    from worker import main

    asyncio.run(main())
    _exit_now(0)


@app.command()
def api(port: int = 8000, host: str = "0.0.0.0") -> None:
    """Run the API and UI alone against TEMPORAL_ADDRESS and DATABASE_URL (SECRET_KEY must be set)."""
    settings = Settings()
    if len(settings.secret_key) < 16:
        err.print("valueloop: set SECRET_KEY (16 characters or more, the same on every API replica)")
        raise typer.Exit(2)
    asyncio.run(serve(settings, host, port, run_worker=False))


@app.command()
def migrate(demo: bool = False) -> None:
    """Bring DATABASE_URL's schema to the latest version (and load the demo company with --demo)."""
    prepare_database(Settings(), demo)
    console.print("database is up to date")


@app.command()
def reconcile() -> None:
    """Check DATABASE_URL's books: each control account against its sub-ledger, and the trial balance even.
    Prints the table; exits 1 when anything is off."""
    from domain.accounting import ledger
    from domain.cash import services as cash
    from domain.core.db import Database

    db = Database(Settings().database_url)
    try:
        with db.read() as s:
            rec = cash.reconcile(s)
            tb = ledger.trial_balance(s)
    finally:
        db.dispose()
    table = Table(title="Sub-ledgers against their control accounts")
    for col in ("Check", "Account", "Control", "Sub-ledger", "Difference"):
        table.add_column(col, justify="left" if col in ("Check", "Account") else "right")
    for r in rec.rows:
        table.add_row(r["name"], r["account"], f"{r['control']:,.2f}", f"{r['subledger']:,.2f}",
                      f"[red]{r['difference']:,.2f}[/red]" if r["difference"] else f"{r['difference']:,.2f}")
    debit, credit = tb["debit_total"], tb["credit_total"]
    table.add_row("Trial balance: debits = credits", "", f"{debit:,.2f}", f"{credit:,.2f}",
                  f"{debit - credit:,.2f}")  # type: ignore[operator]
    console.print(table)
    if not rec.balanced or debit != credit:
        err.print("valueloop: the books do not reconcile (see the differences above)")
        raise typer.Exit(1)
    console.print("every sub-ledger equals its control account; the trial balance is even")


@app.command()
def backup(
    to: Annotated[Path, typer.Option(help="a new or empty directory to write the backup into")],
    data_dir: Annotated[Path, typer.Option(help="the data dir of the installation (as given to `up`)")] = Path("var"),
) -> None:
    """Back up the installation on --data-dir, running or not: Temporal's store, then the domain database (SQLite's
    online backup, or pg_dump when DATABASE_URL is PostgreSQL), the attachments, and a manifest with checksums."""
    import backup as ops

    try:
        report = ops.backup(data_dir, to, os.environ.get("DATABASE_URL") or None,
                            Path(os.environ["ATTACHMENTS_DIR"]) if os.environ.get("ATTACHMENTS_DIR") else None)
    except (ops.BackupError, OSError) as e:  # OSError: e.g. a directory we may not write
        err.print(f"valueloop: {e}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    m = report.manifest
    for note in report.notes:
        console.print(note, markup=False, soft_wrap=True)
    console.print(f"backed up {len(m['files'])} files ({sum(f['bytes'] for f in m['files'].values()):,} bytes) into "
                  f"{to}; held {len(m['held']['pids'])} process(es) for {m['held']['ms']} ms; alembic revision "
                  f"{m['database']['alembic_revision']}", markup=False, soft_wrap=True)


@app.command()
def restore(
    from_: Annotated[Path, typer.Option("--from", help="a directory `valueloop backup` wrote")],
    data_dir: Annotated[Path, typer.Option(help="the new data dir to make (must not exist or be empty)")],
    database_url: Annotated[str, typer.Option(help="PostgreSQL backups: the empty database to pg_restore into")] = "",
) -> None:
    """Check a backup's manifest and checksums and make a new data dir from it that `up --data-dir` starts from."""
    import backup as ops

    try:
        report = ops.restore(from_, data_dir, database_url or None)
    except (ops.BackupError, OSError) as e:  # OSError: e.g. a directory we may not write
        err.print(f"valueloop: {e}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"restored the backup of {report.manifest['snapshot_at']} into {data_dir}", markup=False, soft_wrap=True)
    for note in report.notes:
        console.print(note, markup=False, soft_wrap=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
