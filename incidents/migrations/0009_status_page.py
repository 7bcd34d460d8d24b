# The public status page (components, public incidents, maintenance, subscribers).

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import incidents.models.status


def create_status_page(apps, schema_editor):
    StatusPage = apps.get_model("incidents", "StatusPage")
    ResponsePlan = apps.get_model("incidents", "ResponsePlan")
    if StatusPage.objects.exists():
        return
    plan = ResponsePlan.objects.order_by("pk").first()
    name = f"{plan.organisation_name} status" if plan else "Status"
    StatusPage.objects.create(name=name, public_id=incidents.models.status.new_public_id())


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0008_runbooks_comms"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ComponentGroup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("description", models.CharField(blank=True, max_length=300)),
                ("position", models.PositiveIntegerField(default=0)),
                (
                    "public_id",
                    models.CharField(
                        default=incidents.models.status.new_public_id, editable=False, max_length=12, unique=True
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
            ],
            options={
                "ordering": ["position", "name"],
            },
        ),
        migrations.CreateModel(
            name="StatusPage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(default="Status", help_text="Shown as the page's title.", max_length=200)),
                (
                    "public_id",
                    models.CharField(
                        default=incidents.models.status.new_public_id, editable=False, max_length=12, unique=True
                    ),
                ),
                ("logo", models.BinaryField(blank=True, default=b"")),
                ("logo_content_type", models.CharField(blank=True, editable=False, max_length=40)),
                (
                    "accent_colour",
                    models.CharField(
                        default="#1f6feb",
                        max_length=7,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^#[0-9a-fA-F]{6}$", "A colour as #rrggbb, e.g. #1f6feb."
                            )
                        ],
                    ),
                ),
                (
                    "background_colour",
                    models.CharField(
                        default="#ffffff",
                        max_length=7,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^#[0-9a-fA-F]{6}$", "A colour as #rrggbb, e.g. #1f6feb."
                            )
                        ],
                    ),
                ),
                (
                    "text_colour",
                    models.CharField(
                        default="#1f2328",
                        max_length=7,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^#[0-9a-fA-F]{6}$", "A colour as #rrggbb, e.g. #1f6feb."
                            )
                        ],
                    ),
                ),
                ("support_url", models.URLField(blank=True, help_text="Optional link to your support pages.")),
                ("version", models.PositiveBigIntegerField(default=1, editable=False)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                (
                    "bars_due_at",
                    models.DateTimeField(blank=True, default=django.utils.timezone.now, editable=False, null=True),
                ),
                ("bars_claimed_at", models.DateTimeField(blank=True, editable=False, null=True)),
            ],
            options={
                "verbose_name": "status page",
            },
        ),
        migrations.CreateModel(
            name="Component",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("description", models.CharField(blank=True, max_length=300)),
                ("position", models.PositiveIntegerField(default=0)),
                (
                    "hand_status",
                    models.CharField(
                        choices=[
                            ("operational", "Operational"),
                            ("degraded_performance", "Degraded performance"),
                            ("partial_outage", "Partial outage"),
                            ("major_outage", "Major outage"),
                            ("under_maintenance", "Under maintenance"),
                        ],
                        default="operational",
                        help_text="Shown when no public incident or maintenance says worse.",
                        max_length=24,
                        verbose_name="status set by hand",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("operational", "Operational"),
                            ("degraded_performance", "Degraded performance"),
                            ("partial_outage", "Partial outage"),
                            ("major_outage", "Major outage"),
                            ("under_maintenance", "Under maintenance"),
                        ],
                        default="operational",
                        editable=False,
                        max_length=24,
                    ),
                ),
                ("only_show_if_degraded", models.BooleanField(default=False)),
                ("showcase", models.BooleanField(default=True, help_text="Show the 90-day uptime bars.")),
                ("start_date", models.DateField(blank=True, help_text="Bars start here, not before.", null=True)),
                (
                    "public_id",
                    models.CharField(
                        default=incidents.models.status.new_public_id, editable=False, max_length=12, unique=True
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("uptime_days", models.JSONField(blank=True, default=list, editable=False)),
                ("uptime_html", models.TextField(blank=True, default="", editable=False)),
                (
                    "services",
                    models.ManyToManyField(
                        blank=True,
                        help_text="The services behind this component.",
                        related_name="status_components",
                        to="incidents.service",
                    ),
                ),
                (
                    "group",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="components",
                        to="incidents.componentgroup",
                    ),
                ),
            ],
            options={
                "ordering": ["position", "name"],
            },
        ),
        migrations.CreateModel(
            name="PublicIncident",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "public_id",
                    models.CharField(
                        default=incidents.models.status.new_public_id, editable=False, max_length=12, unique=True
                    ),
                ),
                ("name", models.CharField(max_length=255, verbose_name="public title")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("investigating", "Investigating"),
                            ("identified", "Identified"),
                            ("monitoring", "Monitoring"),
                            ("resolved", "Resolved"),
                        ],
                        default="investigating",
                        max_length=16,
                    ),
                ),
                (
                    "impact",
                    models.CharField(
                        choices=[("none", "None"), ("minor", "Minor"), ("major", "Major"), ("critical", "Critical")],
                        default="minor",
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("monitoring_at", models.DateTimeField(blank=True, null=True)),
                ("resolved_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "incident",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="public_incident",
                        to="incidents.incident",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="AffectedComponent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("operational", "Operational"),
                            ("degraded_performance", "Degraded performance"),
                            ("partial_outage", "Partial outage"),
                            ("major_outage", "Major outage"),
                            ("under_maintenance", "Under maintenance"),
                        ],
                        max_length=24,
                    ),
                ),
                (
                    "worst_status",
                    models.CharField(
                        choices=[
                            ("operational", "Operational"),
                            ("degraded_performance", "Degraded performance"),
                            ("partial_outage", "Partial outage"),
                            ("major_outage", "Major outage"),
                            ("under_maintenance", "Under maintenance"),
                        ],
                        max_length=24,
                    ),
                ),
                (
                    "component",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="affected_by",
                        to="incidents.component",
                    ),
                ),
                (
                    "public_incident",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="affected",
                        to="incidents.publicincident",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="ScheduledMaintenance",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "public_id",
                    models.CharField(
                        default=incidents.models.status.new_public_id, editable=False, max_length=12, unique=True
                    ),
                ),
                ("name", models.CharField(max_length=255, verbose_name="public title")),
                ("body", models.TextField(blank=True, verbose_name="what customers are told")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("scheduled", "Scheduled"),
                            ("in_progress", "In progress"),
                            ("verifying", "Verifying"),
                            ("completed", "Completed"),
                        ],
                        default="scheduled",
                        editable=False,
                        max_length=16,
                    ),
                ),
                ("scheduled_for", models.DateTimeField()),
                ("scheduled_until", models.DateTimeField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("started_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("completed_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "components",
                    models.ManyToManyField(blank=True, related_name="maintenances", to="incidents.component"),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "maintenance_window",
                    models.OneToOneField(
                        blank=True,
                        help_text="The window that suppresses paging for the components' services at these times.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="scheduled_maintenance",
                        to="incidents.maintenancewindow",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "scheduled maintenance",
                "ordering": ["scheduled_for", "id"],
            },
        ),
        migrations.CreateModel(
            name="PublicIncidentUpdate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "public_id",
                    models.CharField(
                        default=incidents.models.status.new_public_id, editable=False, max_length=12, unique=True
                    ),
                ),
                ("status", models.CharField(max_length=16)),
                ("body", models.TextField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("affected_components", models.JSONField(blank=True, default=list)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "public_incident",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="updates",
                        to="incidents.publicincident",
                    ),
                ),
                (
                    "maintenance",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="updates",
                        to="incidents.scheduledmaintenance",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="Subscriber",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("email", models.EmailField(max_length=254, unique=True)),
                (
                    "token",
                    models.CharField(
                        default=incidents.models.status.new_token, editable=False, max_length=64, unique=True
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "components",
                    models.ManyToManyField(
                        blank=True,
                        help_text="None: every component.",
                        related_name="subscribers",
                        to="incidents.component",
                    ),
                ),
            ],
            options={
                "ordering": ["email"],
            },
        ),
        migrations.AddIndex(
            model_name="publicincident",
            index=models.Index(fields=["status", "-created_at"], name="public_incident_status"),
        ),
        migrations.AddConstraint(
            model_name="affectedcomponent",
            constraint=models.UniqueConstraint(
                fields=("public_incident", "component"), name="one_impact_per_component"
            ),
        ),
        migrations.AddIndex(
            model_name="scheduledmaintenance",
            index=models.Index(
                condition=models.Q(("status", "completed"), _negated=True),
                fields=["scheduled_for"],
                name="maintenance_pending",
            ),
        ),
        migrations.AddConstraint(
            model_name="scheduledmaintenance",
            constraint=models.CheckConstraint(
                condition=models.Q(("scheduled_until__gt", models.F("scheduled_for"))),
                name="scheduled_maintenance_ends_after_start",
            ),
        ),
        migrations.AddConstraint(
            model_name="publicincidentupdate",
            constraint=models.CheckConstraint(
                condition=models.Q(("public_incident__isnull", True), ("maintenance__isnull", True), _connector="XOR"),
                name="update_of_one_incident_or_maintenance",
            ),
        ),
        migrations.RunPython(create_status_page, migrations.RunPython.noop),
    ]
