"""The admin app's blueprint tree, assembled once at import time."""

from admin_ui.dashboard import bp as dashboard_bp
from admin_ui.tenant import tenant_bp

for child in (dashboard_bp,):
    tenant_bp.register_blueprint(child)

__all__ = ["tenant_bp"]
