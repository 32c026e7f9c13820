"""Every resource module of the API; importing one registers its operations."""

from admin_ui.api import (  # noqa: F401
    components,
    incidents,
    page_access,
    pages,
    postmortems,
    subscribers,
    templates,
)
