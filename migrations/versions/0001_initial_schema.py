"""Initial schema: platform tables, every tenant table with row-level security, the default plans.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 11:10:13.692523
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from status_platform.db.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = (
    "audience_components",
    "audience_viewers",
    "audiences",
    "audit_events",
    "component_groups",
    "component_status_changes",
    "components",
    "deliveries",
    "delivery_attempts",
    "incident_components",
    "incident_types",
    "incident_update_components",
    "incident_updates",
    "incidents",
    "monitor_checks",
    "monitors",
    "notification_events",
    "pages",
    "subscriber_components",
    "subscribers",
    "template_components",
    "templates",
    "viewers",
)

PLANS = [
    {
        "code": "free",
        "name": "Free",
        "monthly_price_cents": 0,
        "max_pages": 1,
        "max_components": 25,
        "max_subscribers": 250,
        "max_team_members": 3,
        "allows_custom_domain": False,
        "allows_audiences": False,
        "allows_sso": False,
        "allows_sms": False,
        "position": 1,
    },
    {
        "code": "startup",
        "name": "Startup",
        "monthly_price_cents": 2900,
        "max_pages": 2,
        "max_components": 50,
        "max_subscribers": 1000,
        "max_team_members": 10,
        "allows_custom_domain": True,
        "allows_audiences": False,
        "allows_sso": False,
        "allows_sms": True,
        "position": 2,
    },
    {
        "code": "business",
        "name": "Business",
        "monthly_price_cents": 9900,
        "max_pages": 5,
        "max_components": 200,
        "max_subscribers": 10000,
        "max_team_members": 25,
        "allows_custom_domain": True,
        "allows_audiences": True,
        "allows_sso": True,
        "allows_sms": True,
        "position": 3,
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "monthly_price_cents": 39900,
        "max_pages": 50,
        "max_components": 2000,
        "max_subscribers": 250000,
        "max_team_members": 500,
        "allows_custom_domain": True,
        "allows_audiences": True,
        "allows_sso": True,
        "allows_sms": True,
        "position": 4,
    },
]


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("monthly_price_cents", sa.Integer(), nullable=False),
        sa.Column("stripe_price_id", sa.String(length=255), nullable=True),
        sa.Column("max_pages", sa.Integer(), nullable=False),
        sa.Column("max_components", sa.Integer(), nullable=False),
        sa.Column("max_subscribers", sa.Integer(), nullable=False),
        sa.Column("max_team_members", sa.Integer(), nullable=False),
        sa.Column("allows_custom_domain", sa.Boolean(), nullable=False),
        sa.Column("allows_audiences", sa.Boolean(), nullable=False),
        sa.Column("allows_sso", sa.Boolean(), nullable=False),
        sa.Column("allows_sms", sa.Boolean(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_plans")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("plan_code", sa.String(length=32), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_subscription_id", sa.String(length=255), nullable=True),
        sa.Column(
            "subscription_status",
            sa.Enum(
                "free",
                "trialing",
                "active",
                "past_due",
                "canceled",
                "unpaid",
                "incomplete",
                name="subscriptionstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sso_issuer", sa.String(length=500), nullable=True),
        sa.Column("sso_client_id", sa.String(length=255), nullable=True),
        sa.Column("sso_client_secret", sa.String(length=500), nullable=True),
        sa.Column("sso_is_enabled", sa.Boolean(), nullable=False),
        sa.Column("sso_is_required", sa.Boolean(), nullable=False),
        sa.Column("sso_jit_domain", sa.String(length=255), nullable=True),
        sa.Column(
            "sso_jit_role",
            sa.Enum("viewer", "editor", "admin", "owner", name="role", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_code"], ["plans.code"], name=op.f("fk_tenants_plan_code_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
        sa.UniqueConstraint("stripe_customer_id", name=op.f("uq_tenants_stripe_customer_id")),
        sa.UniqueConstraint("stripe_subscription_id", name=op.f("uq_tenants_stripe_subscription_id")),
    )
    op.create_table(
        "billing_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=True),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_billing_events_tenant_id_tenants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_events")),
    )
    with op.batch_alter_table("billing_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_billing_events_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "incident_types",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_retired", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_incident_types_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_types")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_incident_types_tenant_id_id")),
    )
    with op.batch_alter_table("incident_types", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_types_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "invitations",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum("viewer", "editor", "admin", "owner", name="role", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("invited_by_id", sa.String(length=12), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("fk_invitations_invited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_invitations_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitations_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "memberships",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.String(length=12), nullable=False),
        sa.Column(
            "role",
            sa.Enum("viewer", "editor", "admin", "owner", name="role", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_memberships_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("tenant_id", "user_id", name=op.f("uq_memberships_tenant_id_user_id")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_user_id"), ["user_id"], unique=False)

    op.create_table(
        "pages",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("headline", sa.String(length=255), nullable=False),
        sa.Column("page_description", sa.Text(), nullable=False),
        sa.Column("support_url", sa.String(length=500), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column(
            "visibility",
            sa.Enum(
                "public", "private", "audience_specific", name="pagevisibility", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("is_search_indexed", sa.Boolean(), nullable=False),
        sa.Column("allow_page_subscribers", sa.Boolean(), nullable=False),
        sa.Column("allow_incident_subscribers", sa.Boolean(), nullable=False),
        sa.Column("allow_email_subscribers", sa.Boolean(), nullable=False),
        sa.Column("allow_sms_subscribers", sa.Boolean(), nullable=False),
        sa.Column("allow_webhook_subscribers", sa.Boolean(), nullable=False),
        sa.Column("allow_slack_subscribers", sa.Boolean(), nullable=False),
        sa.Column("allow_teams_subscribers", sa.Boolean(), nullable=False),
        sa.Column("allow_rss_atom_feeds", sa.Boolean(), nullable=False),
        sa.Column("notifications_from_name", sa.String(length=255), nullable=False),
        sa.Column("notifications_from_email", sa.String(length=320), nullable=False),
        sa.Column("notifications_email_footer", sa.Text(), nullable=False),
        sa.Column("brand_color", sa.String(length=7), nullable=False),
        sa.Column("css_colors", sa.JSON(), nullable=False),
        sa.Column("custom_css", sa.Text(), nullable=False),
        sa.Column("logo_data", sa.LargeBinary(), nullable=True),
        sa.Column("logo_content_type", sa.String(length=64), nullable=True),
        sa.Column("logo_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("history_days", sa.Integer(), nullable=False),
        sa.Column("upcoming_maintenance_days", sa.Integer(), nullable=False),
        sa.Column("maintenance_reminder_minutes", sa.Integer(), nullable=False),
        sa.Column("viewer_oidc_issuer", sa.String(length=500), nullable=True),
        sa.Column("viewer_oidc_client_id", sa.String(length=255), nullable=True),
        sa.Column("viewer_oidc_client_secret", sa.String(length=500), nullable=True),
        sa.Column("viewer_oidc_audience_claim", sa.String(length=100), nullable=True),
        sa.Column("viewer_oidc_is_enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_pages_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_pages_tenant_id_id")),
    )
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pages_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("is_read_only", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.String(length=12), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_api_keys_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"],
            ["pages.tenant_id", "pages.id"],
            name=op.f("fk_api_keys_tenant_id_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_api_keys_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "audiences",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("external_identifier", sa.String(length=255), nullable=True),
        sa.Column("email_domain", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"],
            ["pages.tenant_id", "pages.id"],
            name=op.f("fk_audiences_tenant_id_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_audiences_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audiences")),
        sa.UniqueConstraint("page_id", "name", name=op.f("uq_audiences_page_id_name")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_audiences_tenant_id_id")),
    )
    with op.batch_alter_table("audiences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audiences_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "component_groups",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "visibility",
            sa.Enum("public", "audience", "hidden", name="componentvisibility", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("is_expanded_by_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"],
            ["pages.tenant_id", "pages.id"],
            name=op.f("fk_component_groups_tenant_id_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_component_groups_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_groups")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_component_groups_tenant_id_id")),
    )
    with op.batch_alter_table("component_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_component_groups_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("incident", "maintenance", name="incidentkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "investigating",
                "identified",
                "monitoring",
                "resolved",
                "postmortem",
                "scheduled",
                "in_progress",
                "verifying",
                "completed",
                name="incidentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "impact",
            sa.Enum(
                "none",
                "minor",
                "major",
                "critical",
                "maintenance",
                name="impact",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "impact_override",
            sa.Enum(
                "none",
                "minor",
                "major",
                "critical",
                "maintenance",
                name="impact",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("incident_type_id", sa.String(length=12), nullable=True),
        sa.Column("is_backfilled", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("monitoring_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scheduled_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scheduled_remind_prior", sa.Boolean(), nullable=False),
        sa.Column("scheduled_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scheduled_auto_in_progress", sa.Boolean(), nullable=False),
        sa.Column("scheduled_auto_completed", sa.Boolean(), nullable=False),
        sa.Column("auto_transition_to_maintenance_state", sa.Boolean(), nullable=False),
        sa.Column("auto_transition_to_operational_state", sa.Boolean(), nullable=False),
        sa.Column("auto_transition_deliver_notifications_at_start", sa.Boolean(), nullable=False),
        sa.Column("auto_transition_deliver_notifications_at_end", sa.Boolean(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_intervals", sa.String(length=100), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("postmortem_body", sa.Text(), nullable=True),
        sa.Column("postmortem_body_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("postmortem_published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("postmortem_is_ignored", sa.Boolean(), nullable=False),
        sa.Column("postmortem_notified_subscribers", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "incident_type_id"],
            ["incident_types.tenant_id", "incident_types.id"],
            name=op.f("fk_incidents_tenant_id_incident_type_id_incident_types"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"],
            ["pages.tenant_id", "pages.id"],
            name=op.f("fk_incidents_tenant_id_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_incidents_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_incidents_tenant_id_id")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incidents_kind_status_scheduled_for"),
            ["kind", "status", "scheduled_for"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_incidents_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_incidents_tenant_id_page_id_kind_status"),
            ["tenant_id", "page_id", "kind", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_incidents_tenant_id_page_id_started_at"),
            ["tenant_id", "page_id", "started_at"],
            unique=False,
        )

    op.create_table(
        "page_routes",
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("custom_domain", sa.String(length=253), nullable=True),
        sa.Column(
            "domain_status",
            sa.Enum(
                "none", "pending", "verified", "failed", name="domainstatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("domain_token", sa.String(length=64), nullable=True),
        sa.Column("domain_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("domain_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("domain_failure_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"],
            ["pages.tenant_id", "pages.id"],
            name=op.f("fk_page_routes_tenant_id_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_page_routes_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("page_id", name=op.f("pk_page_routes")),
        sa.UniqueConstraint("custom_domain", name=op.f("uq_page_routes_custom_domain")),
        sa.UniqueConstraint("slug", name=op.f("uq_page_routes_slug")),
    )
    with op.batch_alter_table("page_routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_routes_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "templates",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("incident", "maintenance", name="incidentkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "update_status",
            sa.Enum(
                "investigating",
                "identified",
                "monitoring",
                "resolved",
                "postmortem",
                "scheduled",
                "in_progress",
                "verifying",
                "completed",
                name="incidentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("should_send_notifications", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"],
            ["pages.tenant_id", "pages.id"],
            name=op.f("fk_templates_tenant_id_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_templates_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_templates_tenant_id_id")),
    )
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_templates_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "viewers",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("external_login", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("feed_token_hash", sa.String(length=64), nullable=True),
        sa.Column("api_token_hash", sa.String(length=64), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"],
            ["pages.tenant_id", "pages.id"],
            name=op.f("fk_viewers_tenant_id_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_viewers_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_viewers")),
        sa.UniqueConstraint("api_token_hash", name=op.f("uq_viewers_api_token_hash")),
        sa.UniqueConstraint("feed_token_hash", name=op.f("uq_viewers_feed_token_hash")),
        sa.UniqueConstraint("page_id", "email", name=op.f("uq_viewers_page_id_email")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_viewers_tenant_id_id")),
    )
    with op.batch_alter_table("viewers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_viewers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "audience_viewers",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("audience_id", sa.String(length=12), nullable=False),
        sa.Column("viewer_id", sa.String(length=12), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "audience_id"],
            ["audiences.tenant_id", "audiences.id"],
            name=op.f("fk_audience_viewers_tenant_id_audience_id_audiences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "viewer_id"],
            ["viewers.tenant_id", "viewers.id"],
            name=op.f("fk_audience_viewers_tenant_id_viewer_id_viewers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_audience_viewers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_viewers")),
        sa.UniqueConstraint(
            "audience_id", "viewer_id", name=op.f("uq_audience_viewers_audience_id_viewer_id")
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_audience_viewers_tenant_id_id")),
    )
    with op.batch_alter_table("audience_viewers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audience_viewers_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audience_viewers_viewer_id"), ["viewer_id"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=True),
        sa.Column("actor_user_id", sa.String(length=12), nullable=True),
        sa.Column("actor_api_key_id", sa.String(length=12), nullable=True),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_audit_events_actor_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_audit_events_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_audit_events_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_audit_events_tenant_id_id")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_events_tenant_id_created_at"), ["tenant_id", "created_at"], unique=False
        )

    op.create_table(
        "components",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("group_id", sa.String(length=12), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "operational",
                "under_maintenance",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                name="componentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "visibility",
            sa.Enum("public", "audience", "hidden", name="componentvisibility", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("is_showcased", sa.Boolean(), nullable=False),
        sa.Column("only_show_if_degraded", sa.Boolean(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("automation_token", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "group_id"],
            ["component_groups.tenant_id", "component_groups.id"],
            name=op.f("fk_components_tenant_id_group_id_component_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"],
            ["pages.tenant_id", "pages.id"],
            name=op.f("fk_components_tenant_id_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_components_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_components")),
        sa.UniqueConstraint("automation_token", name=op.f("uq_components_automation_token")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_components_tenant_id_id")),
    )
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_components_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_components_tenant_id_page_id_position"),
            ["tenant_id", "page_id", "position"],
            unique=False,
        )

    op.create_table(
        "incident_updates",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("incident_id", sa.String(length=12), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "investigating",
                "identified",
                "monitoring",
                "resolved",
                "postmortem",
                "scheduled",
                "in_progress",
                "verifying",
                "completed",
                name="incidentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("display_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deliver_notifications", sa.Boolean(), nullable=False),
        sa.Column("author_user_id", sa.String(length=12), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_incident_updates_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "incident_id"],
            ["incidents.tenant_id", "incidents.id"],
            name=op.f("fk_incident_updates_tenant_id_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_incident_updates_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_updates")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_incident_updates_tenant_id_id")),
    )
    with op.batch_alter_table("incident_updates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_updates_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_incident_updates_tenant_id_incident_id_display_at"),
            ["tenant_id", "incident_id", "display_at"],
            unique=False,
        )

    op.create_table(
        "subscribers",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "email", "sms", "webhook", "slack", "teams", name="channel", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone_number", sa.String(length=20), nullable=True),
        sa.Column("phone_country", sa.String(length=2), nullable=True),
        sa.Column("endpoint", sa.String(length=2000), nullable=True),
        sa.Column("secret", sa.String(length=64), nullable=True),
        sa.Column("confirmation_code_hash", sa.String(length=64), nullable=True),
        sa.Column("incident_id", sa.String(length=12), nullable=True),
        sa.Column("viewer_id", sa.String(length=12), nullable=True),
        sa.Column("audience_id", sa.String(length=12), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("quarantine_reason", sa.String(length=500), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purge_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "audience_id"],
            ["audiences.tenant_id", "audiences.id"],
            name=op.f("fk_subscribers_tenant_id_audience_id_audiences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "incident_id"],
            ["incidents.tenant_id", "incidents.id"],
            name=op.f("fk_subscribers_tenant_id_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"],
            ["pages.tenant_id", "pages.id"],
            name=op.f("fk_subscribers_tenant_id_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "viewer_id"],
            ["viewers.tenant_id", "viewers.id"],
            name=op.f("fk_subscribers_tenant_id_viewer_id_viewers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_subscribers_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribers")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_subscribers_tenant_id_id")),
    )
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscribers_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_subscribers_tenant_id_page_id_channel_confirmed_at"),
            ["tenant_id", "page_id", "channel", "confirmed_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_subscribers_tenant_id_page_id_email"),
            ["tenant_id", "page_id", "email"],
            unique=False,
        )

    op.create_table(
        "audience_components",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("audience_id", sa.String(length=12), nullable=False),
        sa.Column("component_id", sa.String(length=12), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "audience_id"],
            ["audiences.tenant_id", "audiences.id"],
            name=op.f("fk_audience_components_tenant_id_audience_id_audiences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "component_id"],
            ["components.tenant_id", "components.id"],
            name=op.f("fk_audience_components_tenant_id_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_audience_components_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_components")),
        sa.UniqueConstraint(
            "audience_id", "component_id", name=op.f("uq_audience_components_audience_id_component_id")
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_audience_components_tenant_id_id")),
    )
    with op.batch_alter_table("audience_components", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audience_components_component_id"), ["component_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audience_components_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "component_status_changes",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("component_id", sa.String(length=12), nullable=False),
        sa.Column(
            "old_status",
            sa.Enum(
                "operational",
                "under_maintenance",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                name="componentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "new_status",
            sa.Enum(
                "operational",
                "under_maintenance",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                name="componentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("incident_id", sa.String(length=12), nullable=True),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_component_status_changes_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "component_id"],
            ["components.tenant_id", "components.id"],
            name=op.f("fk_component_status_changes_tenant_id_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_component_status_changes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_status_changes")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_component_status_changes_tenant_id_id")),
    )
    with op.batch_alter_table("component_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_component_status_changes_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_component_status_changes_tenant_id_component_id_changed_at"),
            ["tenant_id", "component_id", "changed_at"],
            unique=False,
        )

    op.create_table(
        "incident_components",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("incident_id", sa.String(length=12), nullable=False),
        sa.Column("component_id", sa.String(length=12), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "component_id"],
            ["components.tenant_id", "components.id"],
            name=op.f("fk_incident_components_tenant_id_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "incident_id"],
            ["incidents.tenant_id", "incidents.id"],
            name=op.f("fk_incident_components_tenant_id_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_incident_components_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_components")),
        sa.UniqueConstraint(
            "incident_id", "component_id", name=op.f("uq_incident_components_incident_id_component_id")
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_incident_components_tenant_id_id")),
    )
    with op.batch_alter_table("incident_components", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_components_component_id"), ["component_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_incident_components_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "incident_update_components",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("update_id", sa.String(length=12), nullable=False),
        sa.Column("component_id", sa.String(length=12), nullable=True),
        sa.Column("component_name", sa.String(length=255), nullable=False),
        sa.Column(
            "old_status",
            sa.Enum(
                "operational",
                "under_maintenance",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                name="componentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "new_status",
            sa.Enum(
                "operational",
                "under_maintenance",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                name="componentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_incident_update_components_component_id_components"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "update_id"],
            ["incident_updates.tenant_id", "incident_updates.id"],
            name=op.f("fk_incident_update_components_tenant_id_update_id_incident_updates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_incident_update_components_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_update_components")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_incident_update_components_tenant_id_id")),
    )
    with op.batch_alter_table("incident_update_components", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_update_components_component_id"), ["component_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_incident_update_components_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "monitors",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("component_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("http", "tcp", "keyword", name="monitorkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("http_method", sa.String(length=8), nullable=False),
        sa.Column("expected_status", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(length=255), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("failure_threshold", sa.Integer(), nullable=False),
        sa.Column("degraded_latency_ms", sa.Integer(), nullable=True),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "component_id"],
            ["components.tenant_id", "components.id"],
            name=op.f("fk_monitors_tenant_id_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"],
            ["pages.tenant_id", "pages.id"],
            name=op.f("fk_monitors_tenant_id_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_monitors_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitors")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_monitors_tenant_id_id")),
    )
    with op.batch_alter_table("monitors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitors_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "notification_events",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "incident_created",
                "incident_updated",
                "incident_resolved",
                "postmortem_published",
                "maintenance_scheduled",
                "maintenance_reminder",
                "maintenance_started",
                "maintenance_updated",
                "maintenance_completed",
                "maintenance_rescheduled",
                "maintenance_cancelled",
                "component_updated",
                name="eventkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("incident_id", sa.String(length=12), nullable=True),
        sa.Column("incident_update_id", sa.String(length=12), nullable=True),
        sa.Column("component_id", sa.String(length=12), nullable=True),
        sa.Column("component_ids", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "fanout_status",
            sa.Enum("pending", "done", name="fanoutstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("fanout_cursor", sa.String(length=12), nullable=True),
        sa.Column("fanned_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_notification_events_component_id_components"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_update_id"],
            ["incident_updates.id"],
            name=op.f("fk_notification_events_incident_update_id_incident_updates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "incident_id"],
            ["incidents.tenant_id", "incidents.id"],
            name=op.f("fk_notification_events_tenant_id_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"],
            ["pages.tenant_id", "pages.id"],
            name=op.f("fk_notification_events_tenant_id_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_notification_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_events")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_notification_events_tenant_id_id")),
    )
    with op.batch_alter_table("notification_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_events_fanout_status_created_at"),
            ["fanout_status", "created_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_notification_events_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "subscriber_components",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("subscriber_id", sa.String(length=12), nullable=False),
        sa.Column("component_id", sa.String(length=12), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "component_id"],
            ["components.tenant_id", "components.id"],
            name=op.f("fk_subscriber_components_tenant_id_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subscriber_id"],
            ["subscribers.tenant_id", "subscribers.id"],
            name=op.f("fk_subscriber_components_tenant_id_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_subscriber_components_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriber_components")),
        sa.UniqueConstraint(
            "subscriber_id", "component_id", name=op.f("uq_subscriber_components_subscriber_id_component_id")
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_subscriber_components_tenant_id_id")),
    )
    with op.batch_alter_table("subscriber_components", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subscriber_components_component_id"), ["component_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_subscriber_components_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "template_components",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("template_id", sa.String(length=12), nullable=False),
        sa.Column("component_id", sa.String(length=12), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "operational",
                "under_maintenance",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                name="componentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "component_id"],
            ["components.tenant_id", "components.id"],
            name=op.f("fk_template_components_tenant_id_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "template_id"],
            ["templates.tenant_id", "templates.id"],
            name=op.f("fk_template_components_tenant_id_template_id_templates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_template_components_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_components")),
        sa.UniqueConstraint(
            "template_id", "component_id", name=op.f("uq_template_components_template_id_component_id")
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_template_components_tenant_id_id")),
    )
    with op.batch_alter_table("template_components", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_template_components_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("event_id", sa.String(length=12), nullable=False),
        sa.Column("subscriber_id", sa.String(length=12), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "email", "sms", "webhook", "slack", "teams", name="channel", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "failed",
                "cancelled",
                name="deliverystatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "event_id"],
            ["notification_events.tenant_id", "notification_events.id"],
            name=op.f("fk_deliveries_tenant_id_event_id_notification_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subscriber_id"],
            ["subscribers.tenant_id", "subscribers.id"],
            name=op.f("fk_deliveries_tenant_id_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_deliveries_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("event_id", "subscriber_id", name=op.f("uq_deliveries_event_id_subscriber_id")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_deliveries_tenant_id_id")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deliveries_status_next_attempt_at"), ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_deliveries_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deliveries_tenant_id_subscriber_id_created_at"),
            ["tenant_id", "subscriber_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "monitor_checks",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("monitor_id", sa.String(length=12), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_up", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "monitor_id"],
            ["monitors.tenant_id", "monitors.id"],
            name=op.f("fk_monitor_checks_tenant_id_monitor_id_monitors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_monitor_checks_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_checks")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_monitor_checks_tenant_id_id")),
    )
    with op.batch_alter_table("monitor_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitor_checks_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_monitor_checks_tenant_id_monitor_id_checked_at"),
            ["tenant_id", "monitor_id", "checked_at"],
            unique=False,
        )

    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("delivery_id", sa.String(length=12), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_success", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["deliveries.tenant_id", "deliveries.id"],
            name=op.f("fk_delivery_attempts_tenant_id_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_delivery_attempts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_delivery_attempts_tenant_id_id")),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_attempts_tenant_id"), ["tenant_id"], unique=False)

    for table in TENANT_TABLES:
        enable_tenant_rls(op, table)
    plans = sa.table(
        "plans", *(sa.column(name) for name in PLANS[0]), sa.column("stripe_price_id"), sa.column("is_public")
    )
    op.bulk_insert(plans, [{**plan, "stripe_price_id": None, "is_public": True} for plan in PLANS])


def downgrade() -> None:
    for table in TENANT_TABLES:
        disable_tenant_rls(op, table)
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_tenant_id"))

    op.drop_table("delivery_attempts")
    with op.batch_alter_table("monitor_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitor_checks_tenant_id_monitor_id_checked_at"))
        batch_op.drop_index(batch_op.f("ix_monitor_checks_tenant_id"))

    op.drop_table("monitor_checks")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_tenant_id_subscriber_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_deliveries_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_deliveries_status_next_attempt_at"))

    op.drop_table("deliveries")
    with op.batch_alter_table("template_components", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_components_tenant_id"))

    op.drop_table("template_components")
    with op.batch_alter_table("subscriber_components", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriber_components_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_subscriber_components_component_id"))

    op.drop_table("subscriber_components")
    with op.batch_alter_table("notification_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_events_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_notification_events_fanout_status_created_at"))

    op.drop_table("notification_events")
    with op.batch_alter_table("monitors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitors_tenant_id"))

    op.drop_table("monitors")
    with op.batch_alter_table("incident_update_components", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_update_components_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_incident_update_components_component_id"))

    op.drop_table("incident_update_components")
    with op.batch_alter_table("incident_components", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_components_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_incident_components_component_id"))

    op.drop_table("incident_components")
    with op.batch_alter_table("component_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_component_status_changes_tenant_id_component_id_changed_at"))
        batch_op.drop_index(batch_op.f("ix_component_status_changes_tenant_id"))

    op.drop_table("component_status_changes")
    with op.batch_alter_table("audience_components", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audience_components_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_audience_components_component_id"))

    op.drop_table("audience_components")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscribers_tenant_id_page_id_email"))
        batch_op.drop_index(batch_op.f("ix_subscribers_tenant_id_page_id_channel_confirmed_at"))
        batch_op.drop_index(batch_op.f("ix_subscribers_tenant_id"))

    op.drop_table("subscribers")
    with op.batch_alter_table("incident_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_updates_tenant_id_incident_id_display_at"))
        batch_op.drop_index(batch_op.f("ix_incident_updates_tenant_id"))

    op.drop_table("incident_updates")
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_components_tenant_id_page_id_position"))
        batch_op.drop_index(batch_op.f("ix_components_tenant_id"))

    op.drop_table("components")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_tenant_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_tenant_id"))

    op.drop_table("audit_events")
    with op.batch_alter_table("audience_viewers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audience_viewers_viewer_id"))
        batch_op.drop_index(batch_op.f("ix_audience_viewers_tenant_id"))

    op.drop_table("audience_viewers")
    with op.batch_alter_table("viewers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_viewers_tenant_id"))

    op.drop_table("viewers")
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_templates_tenant_id"))

    op.drop_table("templates")
    with op.batch_alter_table("page_routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_routes_tenant_id"))

    op.drop_table("page_routes")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_tenant_id_page_id_started_at"))
        batch_op.drop_index(batch_op.f("ix_incidents_tenant_id_page_id_kind_status"))
        batch_op.drop_index(batch_op.f("ix_incidents_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_incidents_kind_status_scheduled_for"))

    op.drop_table("incidents")
    with op.batch_alter_table("component_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_component_groups_tenant_id"))

    op.drop_table("component_groups")
    with op.batch_alter_table("audiences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audiences_tenant_id"))

    op.drop_table("audiences")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_tenant_id"))

    op.drop_table("api_keys")
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pages_tenant_id"))

    op.drop_table("pages")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_user_id"))

    op.drop_table("memberships")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_tenant_id"))

    op.drop_table("invitations")
    with op.batch_alter_table("incident_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_types_tenant_id"))

    op.drop_table("incident_types")
    with op.batch_alter_table("billing_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_events_tenant_id"))

    op.drop_table("billing_events")
    op.drop_table("tenants")
    op.drop_table("users")
    op.drop_table("plans")
