"""The Dagster instance of `achats run`: Dagster's own ephemeral instance (in-memory run and event
storage), with each storage keeping one SQLite connection for the run instead of opening a new
one, with two PRAGMAs, for every event written or read.

Why: a run of the sample writes ~500 events and reads the latest materialization of ~170 assets
and checks (data versions, check targets); the stock in-memory storages open ~1 500 connections
for that, ≈ 0.8 s of processor time out of ≈ 4.8 s. Same tables, same events, same Dagster code
paths: only the connection handling differs. The held connection is used under the storage's
lock (the event log's own, or a new one for the run storage), one transaction per call as before,
and only by the thread that built the storage (SQLite's rule): any other thread gets a connection
of its own, as with the stock storages.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import sqlalchemy as db
from dagster._core.instance import InstanceType
from dagster._core.launcher.sync_in_memory_run_launcher import SyncInMemoryRunLauncher
from dagster._core.run_coordinator import DefaultRunCoordinator
from dagster._core.storage.event_log import InMemoryEventLogStorage
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
from dagster._core.storage.root import TemporaryLocalArtifactStorage
from dagster._core.storage.runs import InMemoryRunStorage


def _foreign_keys_on(conn: db.Connection) -> None:
    """What the stock storages set at each new connection; once is enough on a held one."""
    conn.execute(db.text("PRAGMA foreign_keys=ON;")).close()
    conn.commit()


class HeldEventLogStorage(InMemoryEventLogStorage):
    """Dagster's in-memory event log, on the one connection it already holds for its lifetime."""

    def __init__(self) -> None:
        super().__init__()
        self._owner = threading.get_ident()
        _foreign_keys_on(self._held_conn)

    @contextmanager
    def _connect(self) -> Iterator[db.Connection]:
        if threading.get_ident() != self._owner:
            with super()._connect() as conn:
                yield conn
            return
        with self._db_lock, self._held_conn.begin():
            yield self._held_conn


class HeldRunStorage(InMemoryRunStorage):
    """Dagster's in-memory run storage, on the one connection it already holds for its lifetime."""

    def __init__(self) -> None:
        super().__init__()
        self._owner = threading.get_ident()
        self._lock = threading.RLock()
        _foreign_keys_on(self._held_conn)

    @contextmanager
    def connect(self) -> Iterator[db.Connection]:
        if threading.get_ident() != self._owner:
            with self._lock, super().connect() as conn:
                yield conn
            return
        with self._lock:
            if self._held_conn.in_transaction():  # a nested call: already inside the caller's transaction
                yield self._held_conn
                return
            with self._held_conn.begin():
                yield self._held_conn


def run_instance() -> dg.DagsterInstance:
    """An ephemeral instance (nothing written to disk, nothing kept after the run), as
    `DagsterInstance.ephemeral()` builds it, on held connections."""
    return dg.DagsterInstance(
        instance_type=InstanceType.EPHEMERAL,
        local_artifact_storage=TemporaryLocalArtifactStorage(),
        run_storage=HeldRunStorage(),
        event_storage=HeldEventLogStorage(),
        compute_log_manager=NoOpComputeLogManager(),
        run_coordinator=DefaultRunCoordinator(),
        run_launcher=SyncInMemoryRunLauncher(),
    )
