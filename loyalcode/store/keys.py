"""The deployment key: loading, creating, subkeys and fingerprint.

The key is 32 random bytes written as 64 hexadecimal characters. It comes from
``LOYALCODE_KEY``, else the file ``LOYALCODE_KEY_FILE`` names, else ``./loyalcode.key``.
Four independent subkeys are derived from it with keyed BLAKE2b and distinct
personalisation strings (domain separation): F1 (the tag), F2 (the body mask), F3
(the fingerprint the database stores, so a wrong key is refused) and F4 (the keyed
hash that stands for a phone, an openid or a source where only equality is needed:
throttle counters, the source of a redemption). The key itself is never printed,
logged or put in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loyalcode.errors import InvalidKey, KeyFilePermissions, KeyMismatch, KeyMissing, LoyalcodeError

if TYPE_CHECKING:
    import numpy as np

KEY_BYTES = 32
DEFAULT_KEY_FILE = "loyalcode.key"
_HEX = frozenset("0123456789abcdefABCDEF")


def _subkey(master: bytes, label: bytes) -> bytes:
    return hashlib.blake2b(b"", key=master, person=label, digest_size=32).digest()


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where a key came from (for messages: never the key itself)."""

    description: str
    path: Path | None = None


def key_file_path() -> Path:
    """The key file this process would use when ``LOYALCODE_KEY`` is not set."""
    return Path(os.environ.get("LOYALCODE_KEY_FILE") or DEFAULT_KEY_FILE)


def parse_key(text: str, source: KeySource) -> bytes:
    """The key bytes from 64 hex characters (surrounding white space allowed)."""
    text = text.strip()
    if len(text) != 2 * KEY_BYTES or not set(text) <= _HEX:
        raise InvalidKey(source=source.description)
    return bytes.fromhex(text)


def find_key() -> tuple[bytes, KeySource] | None:
    """The configured key and its source, or ``None`` when there is none."""
    env = os.environ.get("LOYALCODE_KEY")
    if env:
        source = KeySource("LOYALCODE_KEY")
        return parse_key(env, source), source
    path = key_file_path()
    source = KeySource(f"key file {path}", path)
    try:
        with open(path, "rb") as f:
            check_key_file_mode(path, os.fstat(f.fileno()).st_mode)
            text = f.read().decode("ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidKey(f"Cannot read the key file {path}: {type(exc).__name__}.") from None
    return parse_key(text, source), source


def check_key_file_mode(path: Path, mode: int) -> None:
    """:class:`KeyFilePermissions` when group or others have any access to the key
    file (as ssh refuses such a private key): anyone who reads it can make valid codes,
    anyone who writes it can swap it."""
    if os.name == "posix" and mode & 0o077:
        import shlex

        raise KeyFilePermissions(path=str(path), mode=f"{mode & 0o777:04o}",
                                 command=f"chmod 600 {shlex.quote(str(path))}")


def load_key() -> tuple[bytes, KeySource]:
    """The configured key, or :class:`KeyMissing`."""
    found = find_key()
    if found is None:
        raise KeyMissing(path=str(key_file_path()))
    return found


def create_key_file(path: Path) -> bytes:
    """Create a new random key in ``path`` (mode 0600). Never overwrites a file."""
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise LoyalcodeError(f"Refusing to overwrite the existing key file {path}.") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.hex() + "\n")
        f.flush()
        os.fsync(f.fileno())
    return key


class Keyring:
    """The subkeys of one deployment key and the two PRFs of the code construction.

    F1 and F2 are AES-256 in ECB mode over one 16-byte block holding the input as a
    big-endian integer: a pseudo-random permutation used as a PRF on distinct inputs,
    and fast in bulk (``cryptography`` runs AES-NI over a whole numpy buffer at once).
    """

    __slots__ = ("_k1", "_k2", "_local", "_pid", "fingerprint")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise InvalidKey(source="the caller")
        self._k1 = _subkey(key, b"loyalcode.F1.tag")
        self._k2 = _subkey(key, b"loyalcode.F2.msk")
        self.fingerprint = hashlib.blake2b(
            b"fingerprint", key=_subkey(key, b"loyalcode.F3.fpr"), digest_size=16
        ).hexdigest()
        self._pid = _subkey(key, b"loyalcode.F4.pid")
        self._local = threading.local()

    def __repr__(self) -> str:  # never show key material
        return f"Keyring(fingerprint={self.fingerprint[:8]}…)"

    def verify(self, expected_fingerprint: str, source: KeySource) -> None:
        """Raise :class:`KeyMismatch` unless this key has the stored fingerprint."""
        if not hmac.compare_digest(self.fingerprint, expected_fingerprint):
            raise KeyMismatch(source=source.description, expected=expected_fingerprint[:8])

    def identity_key(self, kind: str, value: str) -> str:
        """F4: the key under which a personal identity is stored where only equality
        matters (32 hex characters). ``kind`` (``phone``, ``openid``, ``source``) is
        hashed with the value, so equal values of different kinds get unrelated keys;
        without the deployment key, a phone cannot be recovered from it (not even by
        trying every phone number)."""
        data = f"{kind}\x00{value}".encode()
        return hashlib.blake2b(data, key=self._pid, digest_size=16).hexdigest()

    def _encryptors(self):  # type: ignore[no-untyped-def]
        enc = getattr(self._local, "enc", None)
        if enc is None:
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

            enc = (
                Cipher(algorithms.AES(self._k1), modes.ECB()).encryptor(),
                Cipher(algorithms.AES(self._k2), modes.ECB()).encryptor(),
            )
            self._local.enc = enc
        return enc

    # scalar PRFs (redemption, check) -------------------------------------------------

    def tag(self, serial: int) -> int:
        """F1: the 40-bit tag of a serial."""
        out = self._encryptors()[0].update(serial.to_bytes(16, "big"))
        return int.from_bytes(out[:5], "big")

    def mask(self, tag: int) -> int:
        """F2: the 35-bit mask that hides the serial, keyed by the tag."""
        out = self._encryptors()[1].update(tag.to_bytes(16, "big"))
        return int.from_bytes(out[:5], "big") >> 5

    # vectorised PRFs (export, printing, bulk check) -----------------------------------

    def _prf_np(self, which: int, values: np.ndarray) -> np.ndarray:
        import numpy as np

        n = values.shape[0]
        blocks = np.zeros((n, 2), dtype=">u8")
        blocks[:, 1] = values
        out = self._encryptors()[which].update(blocks.tobytes())
        return np.frombuffer(out, dtype=">u8").reshape(n, 2)[:, 0].astype(np.uint64)

    def tags_np(self, serials: np.ndarray) -> np.ndarray:
        """F1 over a uint64 array of serials: uint64 tags (40 bits)."""
        return self._prf_np(0, serials) >> 24

    def masks_np(self, tags: np.ndarray) -> np.ndarray:
        """F2 over a uint64 array of tags: uint64 masks (35 bits)."""
        return self._prf_np(1, tags) >> 29
