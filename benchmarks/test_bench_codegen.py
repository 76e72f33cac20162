"""pytest-benchmark suites of the code-generation hot paths, each beside its naive
baseline. Not part of the unit tests (``testpaths = tests``); run on demand:

    pytest benchmarks/test_bench_codegen.py --benchmark-columns=median,ops
"""

from __future__ import annotations

import numpy as np
import pytest
from bench_codegen import KEY_HEX, naive_per_code, naive_per_symbol

from loyalcode.codegen import codec
from loyalcode.codegen.checking import check_codes
from loyalcode.codegen.codeformat import group
from loyalcode.store.keys import Keyring

RING = Keyring(bytes.fromhex(KEY_HEX))
N = 65_536
SERIALS = np.arange(1, N + 1, dtype=np.uint64)


@pytest.mark.benchmark(group="derive 65,536 codes")
def test_derive_chars(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark(codec.derive_chars, RING, SERIALS)


@pytest.mark.benchmark(group="derive 65,536 codes")
def test_derive_naive_hmac_per_symbol(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark.pedantic(naive_per_symbol, args=(bytes.fromhex(KEY_HEX), range(1, N + 1)), rounds=1)


@pytest.mark.benchmark(group="derive 65,536 codes")
def test_derive_naive_hmac_per_code(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark.pedantic(naive_per_code, args=(bytes.fromhex(KEY_HEX), range(1, N + 1)), rounds=3)


@pytest.mark.benchmark(group="encode one by one, 65,536 codes")
def test_encode_scalar_loop(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark.pedantic(lambda: [codec.encode(RING, s) for s in range(1, N + 1)], rounds=3)


CODES = [group(c) for c in codec.derive_codes(RING, SERIALS)]
URLS = [f"HTTPS://LC.EXAMPLE.COM/C/{c.replace('-', '')}" for c in CODES]


@pytest.mark.benchmark(group="check 65,536 inputs")
def test_check_grouped(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark(lambda: sum(1 for _ in check_codes(RING, CODES)))


@pytest.mark.benchmark(group="check 65,536 inputs")
def test_check_urls(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark(lambda: sum(1 for _ in check_codes(RING, URLS)))


@pytest.mark.benchmark(group="check 65,536 inputs")
def test_check_naive_decode_scan_loop(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark.pedantic(lambda: [codec.decode_scan(RING, c) for c in CODES], rounds=3)
