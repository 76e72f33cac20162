"""Offline validation of codes (``loyalcode check``): ok, typo, malformed, forged.

Uses the key, never code state: ``ok`` means authentic, not necessarily live.
Inputs are normalised one by one, then opened in vectorised chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from loyalcode.codegen.codeformat import group
from loyalcode.codegen.normalize import try_normalize
from loyalcode.store.keys import Keyring

CHECK_CHUNK = 65536
STATUSES = ("ok", "typo", "forged")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome for one input; ``code`` is the grouped canonical code when ok."""

    input: str
    status: str
    code: str | None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def check_codes(keyring: Keyring, inputs: Iterable[str], chunk: int = CHECK_CHUNK) -> Iterator[CheckResult]:
    """One :class:`CheckResult` per input, in order, streaming in chunks."""
    batch: list[str] = []
    for item in inputs:
        batch.append(item)
        if len(batch) >= chunk:
            yield from _check_chunk(keyring, batch)
            batch = []
    if batch:
        yield from _check_chunk(keyring, batch)


def _check_chunk(keyring: Keyring, inputs: list[str]) -> Iterator[CheckResult]:
    import numpy as np

    from loyalcode.codegen.codec import open_many

    canon = [try_normalize(x) for x in inputs]
    good = [c for c in canon if c is not None]
    statuses: list[int] = []
    if good:
        arr = np.frombuffer("".join(good).encode("ascii"), dtype=np.uint8).reshape(len(good), 16)
        status, _ = open_many(keyring, arr)
        statuses = status.tolist()
    k = 0
    for text, code in zip(inputs, canon):
        if code is None:
            yield CheckResult(text, "malformed", None)
            continue
        st = STATUSES[statuses[k]]
        k += 1
        yield CheckResult(text, st, group(code) if st == "ok" else None)
