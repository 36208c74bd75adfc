"""Where Optuna studies (and the distributed grids' queues) live: a journal file or an RDB such as
PostgreSQL, opened with a clear error when it cannot be; its URL with the password hidden; and a lock
held by one process at a time among those sharing it."""

from __future__ import annotations

import contextlib
import fcntl
import time
import warnings
from pathlib import Path
from typing import Iterator

from zoo import config as config_lib

DEFAULT_STORAGE = config_lib.PROJECT_DIR / "optuna-studies.journal"


class StudyError(RuntimeError):
    pass


def open_storage(url: str | None):
    """A journal file (default, or a path / `journal:PATH`) or an RDB URL; unreachable means an error now."""
    import optuna

    url = url or str(DEFAULT_STORAGE)
    try:
        if "://" not in url:
            path = Path(url.removeprefix("journal:"))
            if not path.parent.is_dir():
                raise StudyError(f"storage folder {path.parent} does not exist")
            return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
        return rdb_storage(url)
    except StudyError:
        raise
    except Exception as error:  # sqlalchemy / driver errors: say what was tried and what is accepted
        raise StudyError(f"cannot open storage {redact(url)}: {type(error).__name__}: {str(error).splitlines()[0]}. "
                         "Accepted: a journal file path (default), or an RDB URL such as "
                         "postgresql://user:password@host:5432/db") from None


def rdb_storage(url: str, attempts: int = 5, heartbeat_s: int = 30, grace_s: int = 120, stale_trial_callback=None):
    """RDBStorage; workers starting together race to create its tables, so a lost race is retried."""
    import optuna

    for attempt in range(1, attempts + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                # heartbeats let any worker fail the trials of a worker that died (killed, machine lost)
                return optuna.storages.RDBStorage(url, heartbeat_interval=heartbeat_s, grace_period=grace_s,
                                                  heartbeat_stale_trial_callback=stale_trial_callback,
                                                  engine_kwargs={"pool_pre_ping": True})
        except Exception as error:
            if type(error).__name__ not in ("IntegrityError", "ProgrammingError") or attempt == attempts:
                raise
            time.sleep(0.5 * attempt)


def redact(url: str) -> str:
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':')[0]}:***@{host}"
    return url



@contextlib.contextmanager
def storage_lock(url: str | None) -> Iterator[None]:
    """Held by one process at a time among those using the storage `url`: a file lock beside a journal
    or SQLite file, an advisory lock on PostgreSQL (other databases: none)."""
    url = url or str(DEFAULT_STORAGE)
    if "://" not in url or url.startswith("sqlite:///"):
        path = Path(url.removeprefix("journal:").removeprefix("sqlite:///"))
        with open(path.with_name(path.name + ".parent-lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed, also by a killed process
            yield
    elif url.startswith(("postgresql://", "postgresql+")):
        import sqlalchemy

        engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
        with engine.connect() as connection:  # the lock lives as long as this session (ends with the process)
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(hashtext('captcha-zoo study parent'))"))
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(hashtext('captcha-zoo study parent'))"))
        engine.dispose()
    else:
        yield
