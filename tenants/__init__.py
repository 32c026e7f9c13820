"""Everything an organization owns, one package per feature.

Importing this package registers every feature's models with the metadata (one place for
Alembic, the apps and the tests).
"""

from tenants.audiences import models as _audiences  # noqa: F401
from tenants.audit import models as _audit  # noqa: F401
from tenants.components import models as _components  # noqa: F401
from tenants.incidents import models as _incidents  # noqa: F401
from tenants.monitors import models as _monitors  # noqa: F401
from tenants.pages import models as _pages  # noqa: F401
from tenants.subscribers import models as _subscribers  # noqa: F401


def register_periodic_tasks() -> None:
    """Import every feature module that registers a periodic task with the clock."""
    import tenants.maintenance.jobs  # noqa: F401
    import tenants.pages.jobs  # noqa: F401
    import tenants.subscribers.jobs  # noqa: F401
