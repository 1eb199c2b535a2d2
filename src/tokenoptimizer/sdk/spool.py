"""The on-disk spool: batches that could not be sent wait here until the server answers again.

One file per batch, holding the gzipped request body exactly as it will be sent, named
``<time_ns>-<events>-<random>.json.gz`` so the oldest sort first and the number of events is known
without reading. Files are written under a temporary name and renamed, so a crash never leaves a
half-written batch behind.

Several processes may share a spool directory (a web server's workers): a sender claims a file by
renaming it to ``….sending`` before sending it, so two processes do not send it at once; a claim
older than `STALE_CLAIM_SECONDS` belongs to a process that died and is taken back. Should a batch
be sent twice anyway, its events' ids make the server count them once.

The spool is bounded (`max_bytes`): when full, the oldest batches are dropped and the loss logged,
so an app whose server is gone for days does not fill the disk.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("tokenoptimizer")

SUFFIX = ".json.gz"
CLAIM_SUFFIX = ".sending"
STALE_CLAIM_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One spooled batch, claimed by this process."""

    path: Path
    original: Path
    events: int

    def read(self) -> bytes:
        """The gzipped request body."""
        return self.path.read_bytes()


def _events_in(name: str) -> int:
    try:
        return int(name.split("-")[1])
    except (IndexError, ValueError):
        return 0


class Spool:
    """A bounded directory of unsent batches (see the module docstring)."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.dropped_events = 0

    def write(self, gzipped_body: bytes, events: int) -> Path | None:
        """Store one batch; drop the oldest batches if the spool would exceed its bound."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._make_room(len(gzipped_body))
            name = f"{time.time_ns():020d}-{events}-{os.urandom(4).hex()}{SUFFIX}"
            final = self.directory / name
            temporary = self.directory / f".{name}.tmp"
            with open(temporary, "wb") as handle:
                handle.write(gzipped_body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, final)
            return final
        except OSError as exc:
            self.dropped_events += events
            log.error(
                "tokenoptimizer: could not spool %d events to %s (%s); they are lost",
                events,
                self.directory,
                exc,
            )
            return None

    def _make_room(self, incoming: int) -> None:
        files = self._files(include_claimed=True)
        total = sum(size for _path, size in files)
        for path, size in files:
            if total + incoming <= self.max_bytes:
                break
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            total -= size
            lost = _events_in(path.name)
            self.dropped_events += lost
            log.warning(
                "tokenoptimizer: the spool %s is full (%d bytes); dropped the oldest batch (%d events)",
                self.directory,
                self.max_bytes,
                lost,
            )

    def _files(self, *, include_claimed: bool) -> list[tuple[Path, int]]:
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        files = []
        for entry in entries:
            name = entry.name
            if name.endswith(SUFFIX) or (include_claimed and name.endswith(CLAIM_SUFFIX)):
                try:
                    files.append((Path(entry.path), entry.stat().st_size))
                except FileNotFoundError:
                    continue
        files.sort(key=lambda item: item[0].name)
        return files

    def pending(self) -> int:
        """Batches waiting (not counting other processes' claims)."""
        return len(self._files(include_claimed=False))

    def pending_events(self) -> int:
        """Events waiting in unclaimed batches."""
        return sum(_events_in(path.name) for path, _ in self._files(include_claimed=False))

    def claim_next(self) -> SpooledBatch | None:
        """Take the oldest batch for sending, or None when the spool is empty."""
        self._reclaim_stale()
        for path, _size in self._files(include_claimed=False):
            claimed = path.with_name(f"{path.name}.{os.getpid()}{CLAIM_SUFFIX}")
            try:
                os.rename(path, claimed)
                os.utime(claimed)  # the claim's age, see `_reclaim_stale`
            except FileNotFoundError:
                continue  # another process took it
            return SpooledBatch(claimed, path, _events_in(path.name))
        return None

    def done(self, batch: SpooledBatch) -> None:
        """The batch was delivered: forget it."""
        try:
            batch.path.unlink()
        except FileNotFoundError:
            pass

    def release(self, batch: SpooledBatch) -> None:
        """The batch could not be sent: put it back for later."""
        try:
            os.rename(batch.path, batch.original)
        except FileNotFoundError:
            pass

    def _reclaim_stale(self) -> None:
        now = time.time()
        for path, _size in self._files(include_claimed=True):
            if not path.name.endswith(CLAIM_SUFFIX):
                continue
            try:
                if now - path.stat().st_mtime < STALE_CLAIM_SECONDS:
                    continue
                original = path.name.split(SUFFIX)[0] + SUFFIX
                os.rename(path, path.with_name(original))
            except (FileNotFoundError, IndexError):
                continue
