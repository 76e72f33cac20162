"""Every package's tables on the one metadata: what alembic compares the database with.

Each package owns its tables (``loyalcode.<package>.models``); this module, above them
all, imports them for the migrations' environment and the drift check.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, MetaData

from loyalcode.access import models as _access  # noqa: F401
from loyalcode.channels import models as _channels  # noqa: F401
from loyalcode.codegen import models as _codegen  # noqa: F401
from loyalcode.events import models as _events  # noqa: F401
from loyalcode.loyalty import models as _loyalty  # noqa: F401
from loyalcode.redemption import models as _redemption  # noqa: F401
from loyalcode.store import models as _store  # noqa: F401
from loyalcode.store.db import Base


def metadata() -> MetaData:
    """The shared metadata, with every package's tables on it."""
    return Base.metadata


def drift(engine: Engine) -> list[Any]:
    """Differences between the models and the database (empty when in sync)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
        )
        return list(compare_metadata(ctx, Base.metadata))
