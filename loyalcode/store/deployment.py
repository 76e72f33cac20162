"""``loyalcode init``: the schema, the deployment row, and the key.

A database gets a key once. ``init`` creates a key file (mode 0600) only for a
database that has no key fingerprint yet and no key is configured; with a configured
key it adopts that key. It never overwrites a key file, and for a database that
already has a key it only verifies the configured one (``key_missing`` /
``key_mismatch`` otherwise). Losing the key means losing every outstanding code.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from loyalcode.errors import KeyMissing
from loyalcode.store import db
from loyalcode.store.context import Context
from loyalcode.store.keys import Keyring, create_key_file, find_key, key_file_path
from loyalcode.store.models import Deployment

FIRST_SERIAL = 1


@dataclass(frozen=True, slots=True)
class InitResult:
    """What ``init`` did."""

    database: str
    revision: str
    key_created: bool
    key_adopted: bool
    key_source: str
    fingerprint: str

    def to_dict(self) -> dict[str, object]:
        return {
            "database": self.database,
            "revision": self.revision,
            "key_created": self.key_created,
            "key_adopted": self.key_adopted,
            "key_source": self.key_source,
            "fingerprint": self.fingerprint,
        }


def init_deployment(ctx: Context) -> InitResult:
    """Upgrade the schema to head, create the deployment row, create or verify the key."""
    db.upgrade(ctx.engine)
    created = adopted = False
    with ctx.session() as s, s.begin():
        dep = s.scalar(select(Deployment).where(Deployment.id == 1))
        if dep is None:
            dep = Deployment(id=1, next_serial=FIRST_SERIAL, visible_salt=secrets.token_hex(16))
            s.add(dep)
            s.flush()
        found = find_key()
        if dep.key_fingerprint is None:
            if found is None:
                path = key_file_path()
                keyring = Keyring(create_key_file(path))
                source = f"key file {path}"
                created = True
            else:
                keyring = Keyring(found[0])
                source = found[1].description
                adopted = True
            dep.key_fingerprint = keyring.fingerprint
        else:
            if found is None:
                raise KeyMissing(path=str(key_file_path()))
            keyring = Keyring(found[0])
            keyring.verify(dep.key_fingerprint, found[1])
            source = found[1].description
    return InitResult(
        database=db.redact(ctx.url),
        revision=db.current_revision(ctx.engine) or "",
        key_created=created,
        key_adopted=adopted,
        key_source=source,
        fingerprint=keyring.fingerprint[:8],
    )
