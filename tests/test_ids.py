"""`random_uuid`: version-4 UUIDs, all different, in every thread."""

from __future__ import annotations

import threading
import uuid

from tokenoptimizer.ids import random_uuid


def test_version_4_and_unique() -> None:
    made = [random_uuid() for _ in range(5000)]  # several reads of the random source
    assert len(set(made)) == len(made)
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in made)


def test_threads_do_not_share_bytes() -> None:
    made: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def work(out: list[uuid.UUID]) -> None:
        out.extend(random_uuid() for _ in range(1000))

    threads = [threading.Thread(target=work, args=(out,)) for out in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [u for out in made for u in out]
    assert len(set(every)) == 4000
