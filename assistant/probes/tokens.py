"""OAuth tokens kept outside the database: one JSON file per connection.

Intuit rotates refresh tokens (a superseded one is rejected with ``invalid_grant``), so the latest
refresh token must survive restarts and be shared by all workers. Each connection's state lives
in ``<directory>/<connection_id>.json`` (mode 0600, replaced atomically), and
:meth:`TokenStore.locked` holds an exclusive ``flock`` on ``<connection_id>.lock`` so that two
processes never refresh with the same refresh token at once.

The refresh token in the environment is the seed: the store records its SHA-256. When the
environment's value changes (an operator issued a new one), the environment wins again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .connections import Connection


@dataclass
class TokenState:
    """What the store knows about one connection's tokens. Its repr shows no token."""

    connection_id: str
    seed_sha256: str | None = None
    refresh_token: str | None = None
    access_token: str | None = None
    issued_at: float | None = None          # Unix time the access token was received
    expires_in: int | None = None           # seconds, as the token endpoint said
    refresh_token_expires_in: int | None = None
    instance_url: str | None = None         # Salesforce

    def __repr__(self) -> str:
        return (f"TokenState(connection_id={self.connection_id!r}, "
                f"refresh_token={'<set>' if self.refresh_token else None}, "
                f"access_token={'<set>' if self.access_token else None}, "
                f"issued_at={self.issued_at!r}, expires_in={self.expires_in!r}, "
                f"instance_url={self.instance_url!r})")

    __str__ = __repr__

    def set_access_token(self, token: str, *, expires_in: int | None = None,
                         instance_url: str | None = None) -> None:
        self.access_token = token
        self.issued_at = time.time()
        self.expires_in = expires_in
        if instance_url:
            self.instance_url = instance_url


class LockTimeout(TimeoutError):
    """Another process held the connection's token lock for longer than allowed."""


def _lock(fd: int, timeout: float | None) -> None:
    """Take an exclusive flock on ``fd``, waiting at most ``timeout`` seconds (None: for ever).

    Raises:
        LockTimeout: still held by someone else after ``timeout``.
    """
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeout("token lock busy") from None
            time.sleep(0.05)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class TokenStore:
    """Token files in ``directory`` (created 0700 if missing)."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"TokenStore('{self.directory}')"

    def _path(self, connection_id: str, suffix: str) -> Path:
        if "/" in connection_id or connection_id.startswith("."):
            raise ValueError(f"not a connection id: {connection_id!r}")
        return self.directory / f"{connection_id}{suffix}"

    def load(self, connection_id: str) -> TokenState:
        """The stored state (unlocked read; an empty state when there is no file)."""
        try:
            data = json.loads(self._path(connection_id, ".json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return TokenState(connection_id)
        except (OSError, ValueError):  # a damaged file: start again from the seed
            return TokenState(connection_id)
        known = {f.name for f in fields(TokenState)}
        return TokenState(**{k: v for k, v in data.items() if k in known}
                          | {"connection_id": connection_id})

    def save(self, state: TokenState) -> None:
        """Write ``state`` atomically (temp file, fsync, ``os.replace``), mode 0600. Call it
        while holding :meth:`locked`."""
        target = self._path(state.connection_id, ".json")
        tmp = self.directory / f".{state.connection_id}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(asdict(state), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
            dir_fd = os.open(self.directory, os.O_RDONLY)  # make the rename itself durable
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @contextmanager
    def locked(self, connection: Connection, timeout: float | None = None
               ) -> Iterator[TokenState]:
        """Hold the connection's lock and yield its state, seeded from the environment's
        refresh token (raises ``MissingSecret`` when that variable is unset). The state is saved
        on exit when it changed, also after an exception (a rotated token must never be lost).
        """
        lock_path = self._path(connection.id, ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd, timeout)
            state = self.load(connection.id)
            if connection.has_secret("refresh_token"):
                seed = connection.secret("refresh_token")
                digest = _sha256(seed)
                if state.seed_sha256 != digest or not state.refresh_token:
                    state = TokenState(connection.id, seed_sha256=digest, refresh_token=seed)
            before = asdict(state)
            try:
                yield state
            finally:
                if asdict(state) != before:
                    self.save(state)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
