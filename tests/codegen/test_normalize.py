"""Normalisation of scans: one function, every way a code arrives, junk is malformed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalcode.codegen.codeformat import ALPHABET, CODE_LENGTH, group
from loyalcode.codegen.errors import MalformedCode
from loyalcode.codegen.normalize import MAX_SCAN_LENGTH, normalize_scan, try_normalize

codes = st.text(alphabet=ALPHABET, min_size=CODE_LENGTH, max_size=CODE_LENGTH)
LOOKALIKES = {"0": "Oo", "1": "IiLl"}


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@st.composite
def typed_variants(draw: st.DrawFn, code: str) -> str:
    """The code as a person might type it: case, look-alikes, separators, widths."""
    out = []
    for i, c in enumerate(code):
        if i and i % 4 == 0:
            out.append(draw(st.sampled_from(["", "-", " ", "  ", "\u2013", "\uff0d", "\u3000", "_"])))
        if c in LOOKALIKES and draw(st.booleans()):
            c = draw(st.sampled_from(LOOKALIKES[c]))
        elif draw(st.booleans()):
            c = c.lower()
        out.append(c)
    text = "".join(out)
    if draw(st.booleans()):
        text = full_width(text)
    return draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", " ", "\n", "\r\n"]))


@given(st.data(), codes)
def test_typed_variants_normalise_to_the_code(data: st.DataObject, code: str) -> None:
    assert normalize_scan(data.draw(typed_variants(code))) == code


@given(codes, st.sampled_from(["https", "HTTPS", "http"]), st.booleans())
def test_url_payloads(code: str, scheme: str, lower: bool) -> None:
    shown = code.lower() if lower else code
    grouped = group(shown)
    variants = [
        f"{scheme}://lc.example.com/c/{shown}",
        f"{scheme}://LC.EXAMPLE.COM/C/{grouped}",
        f"{scheme}://lc.example.com/c/{shown}/",
        f"{scheme}://lc.example.com/c/{shown}?utm=x#frag",
        f"{scheme}://id.example.com/01/09501101020917/21/ABCD2345?c={shown}",
        f"{scheme}://id.example.com/01/09501101020917/21/{code[:8]}?x=1&c={grouped}",
        f"{scheme}://x.example/p?c={grouped.replace('-', '+')}",
        f"{scheme}://x.example/p?c={grouped.replace('-', '%20')}",
        f"{scheme}://x.example/{grouped.replace('-', '%2D')}",
        full_width(f"{scheme}://lc.example.com/c/{grouped}"),
    ]
    for scan in variants:
        assert normalize_scan(scan) == code, scan


def test_doc_examples() -> None:
    assert normalize_scan("7kx4-9qpm-2hdf-8w3t") == "7KX49QPM2HDF8W3T"
    assert normalize_scan("７ＫＸ４－９ＱＰＭ－２ＨＤＦ－８Ｗ３Ｔ") == "7KX49QPM2HDF8W3T"
    assert normalize_scan("0OoI1iLl00000000") == "0001111100000000"


def scans() -> st.SearchStrategy[str]:
    junk = st.text(max_size=40)
    return st.one_of(
        junk,
        st.text(alphabet=ALPHABET + "-oOiIlLuU! ", max_size=25),
        st.builds(lambda s: "https://" + s, junk),
        st.builds(lambda s: "http://[" + s, junk),
        st.builds(lambda s: "https://x.example/?" + s, junk),
        st.builds(lambda s: "https://x.example/c/" + s, junk),
        st.builds(lambda a, b: a + "://" + b, st.text(alphabet="abcXYZ+.-", max_size=5), junk),
    )


@settings(max_examples=500)
@given(scans())
def test_junk_is_malformed_never_anything_else(scan: str) -> None:
    try:
        out = normalize_scan(scan)
    except MalformedCode as exc:
        assert exc.code == "malformed"
        assert try_normalize(scan) is None
        return
    assert len(out) == CODE_LENGTH and set(out) <= set(ALPHABET)


@settings(max_examples=300)
@given(st.data(), codes, scans())
def test_idempotent(data: st.DataObject, code: str, junk: str) -> None:
    for scan in (data.draw(typed_variants(code)), junk):
        first = try_normalize(scan)
        if first is None:
            continue
        assert normalize_scan(first) == first
        assert normalize_scan(group(first)) == first


@pytest.mark.parametrize(
    "junk",
    [
        "",
        " ",
        "7KX4-9QPM-2HDF-8W3",  # 15 symbols
        "7KX4-9QPM-2HDF-8W3TT",  # 17
        "7KX4-9QPM-2HDF-8W3U",  # U is not in the alphabet
        "7KX4*9QPM*2HDF*8W3T",
        "https://",
        "https://lc.example.com/",
        "https://lc.example.com/c/7KX4-9QPM?c=",
        "http://[/7KX49QPM2HDF8W3T",
        "http://[::1/7KX49QPM2HDF8W3T",
        "x" * (MAX_SCAN_LENGTH + 1),
        "\ud800" * 16,
        "\x00" * 16,
        "٧KX49QPM2HDF8W3T",  # an Arabic-Indic digit seven: not a code symbol
    ],
)
def test_examples_of_junk(junk: str) -> None:
    with pytest.raises(MalformedCode):
        normalize_scan(junk)


@pytest.mark.parametrize("value", [None, 5, b"7KX49QPM2HDF8W3T", ["7KX49QPM2HDF8W3T"]])
def test_non_text_is_malformed(value: object) -> None:
    with pytest.raises(MalformedCode):
        normalize_scan(value)  # type: ignore[arg-type]


def _outcome(fn, scan: str) -> object:  # type: ignore[no-untyped-def]
    try:
        return fn(scan)
    except MalformedCode:
        return MalformedCode


@settings(max_examples=1000)
@given(
    st.sampled_from(["https://", "HTTP://", "x+y.z://"]),
    st.text(alphabet="ab/?#&=c%+2 \t\n-;C[]:" + ALPHABET[:6], max_size=30),
)
def test_hand_split_url_matches_the_standard_library(scheme: str, rest: str) -> None:
    """The hot path splits URLs by hand; it must agree with urlsplit + parse_qs."""
    from loyalcode.codegen.normalize import _from_url, _from_url_reference

    scan = scheme + rest
    assert _outcome(_from_url, scan) == _outcome(_from_url_reference, scan)
