# Runbooks and the communication cadence (rules per severity, stakeholder groups, obligations, updates).

import datetime
import importlib

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

CUSTOMER_SUCCESS = "Customer success — enterprise"


def level_intervals(level):
    """A level's internal and status-page update intervals: its own fields here (the historical
    model); the default plan's values when run on today's models (conftest's migrated_data), which
    lost the fields in 0010."""
    if hasattr(level, "internal_update_interval"):
        return level.internal_update_interval, level.status_page_update_interval
    default_plan = importlib.import_module("incidents.migrations.0002_default_plan")
    values = next((values for values in default_plan.SEVERITY_LEVELS if values["name"] == level.name), {})
    return values.get("internal_update_interval"), values.get("status_page_update_interval")


def create_default_cadence(apps, schema_editor):
    """The guide's P1 cadence (§6: internal every 15 min, management at T+15 and every 30, status
    page at declaration and T+30, customer success at T+15 for enterprise customers), and for every
    level the internal and status-page intervals the plan already gives it. Idempotent."""
    SeverityLevel = apps.get_model("incidents", "SeverityLevel")
    CommsRule = apps.get_model("incidents", "CommsRule")
    StakeholderGroup = apps.get_model("incidents", "StakeholderGroup")
    minutes = datetime.timedelta(minutes=1)
    for level in SeverityLevel.objects.all():
        internal, status_page = level_intervals(level)
        if internal:
            CommsRule.objects.get_or_create(
                severity=level,
                kind="internal_update",
                stakeholder_group=None,
                defaults={"first_due_after": internal, "interval": internal},
            )
        if status_page:
            CommsRule.objects.get_or_create(
                severity=level,
                kind="status_page",
                stakeholder_group=None,
                defaults={"first_due_after": datetime.timedelta(0), "interval": status_page},
            )
    p1 = SeverityLevel.objects.filter(name="P1").first()
    if p1 is None:
        return
    CommsRule.objects.get_or_create(
        severity=p1,
        kind="management_briefing",
        stakeholder_group=None,
        defaults={"first_due_after": 15 * minutes, "interval": 30 * minutes},
    )
    customer_success, _ = StakeholderGroup.objects.get_or_create(
        name=CUSTOMER_SUCCESS,
        defaults={"description": "Looped in within the first 15 minutes of a P1 for enterprise customers."},
    )
    CommsRule.objects.get_or_create(
        severity=p1,
        kind="stakeholder_notice",
        stakeholder_group=customer_success,
        defaults={"first_due_after": 15 * minutes, "interval": None},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0007_workspace"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="StakeholderGroup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True)),
                ("description", models.TextField(blank=True, help_text="Who they are and what they need to hear.")),
                ("emails", models.JSONField(blank=True, default=list, help_text="The addresses notices are sent to.")),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="CommsRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("internal_update", "Internal update"),
                            ("management_briefing", "Management briefing"),
                            ("status_page", "Status page update"),
                            ("stakeholder_notice", "Stakeholder notice"),
                        ],
                        max_length=32,
                    ),
                ),
                (
                    "first_due_after",
                    models.DurationField(
                        default=datetime.timedelta(0),
                        help_text="First due this long after the incident is declared or opened. 0: at declaration.",
                        validators=[
                            django.core.validators.MinValueValidator(
                                datetime.timedelta(0), message="Cannot be negative."
                            )
                        ],
                    ),
                ),
                (
                    "interval",
                    models.DurationField(
                        blank=True,
                        help_text="Then again this long after each one is posted, until resolution. Empty: once.",
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(
                                datetime.timedelta(seconds=1), message="Must be a positive duration."
                            )
                        ],
                    ),
                ),
                (
                    "grace",
                    models.DurationField(
                        default=datetime.timedelta(seconds=300),
                        help_text="Overdue by this long: the Incident Commander is told; by twice this: the team's manager.",
                        validators=[
                            django.core.validators.MinValueValidator(
                                datetime.timedelta(seconds=1), message="Must be a positive duration."
                            )
                        ],
                    ),
                ),
                (
                    "severity",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="comms_rules",
                        to="incidents.severitylevel",
                    ),
                ),
                (
                    "stakeholder_group",
                    models.ForeignKey(
                        blank=True,
                        help_text="Who is e-mailed: required for a stakeholder notice, optional for a management briefing.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="comms_rules",
                        to="incidents.stakeholdergroup",
                    ),
                ),
            ],
            options={
                "verbose_name": "communication rule",
                "ordering": ["severity__rank", "first_due_after", "kind", "id"],
            },
        ),
        migrations.CreateModel(
            name="IncidentUpdate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("internal_update", "Internal update"),
                            ("management_briefing", "Management briefing"),
                            ("status_page", "Status page update"),
                            ("stakeholder_notice", "Stakeholder notice"),
                        ],
                        max_length=32,
                    ),
                ),
                ("text", models.TextField()),
                ("posted_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "emailed_at",
                    models.DateTimeField(blank=True, help_text="When the notice left for the group.", null=True),
                ),
                (
                    "incident",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="updates", to="incidents.incident"
                    ),
                ),
                (
                    "posted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "stakeholder_group",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="updates",
                        to="incidents.stakeholdergroup",
                    ),
                ),
            ],
            options={
                "ordering": ["posted_at", "id"],
            },
        ),
        migrations.CreateModel(
            name="Runbook",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=200)),
                (
                    "body",
                    models.TextField(blank=True, help_text="The procedure, in Markdown. Raw HTML is shown as text."),
                ),
                (
                    "external_url",
                    models.URLField(
                        blank=True,
                        help_text="Where the full runbook lives (wiki, repository), if elsewhere.",
                        max_length=1000,
                    ),
                ),
                (
                    "match",
                    models.CharField(
                        choices=[("all", "All conditions"), ("any", "Any condition")], default="all", max_length=8
                    ),
                ),
                (
                    "conditions",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text='Show on incidents with an alert that matches, in the routing rules\' language: a list of {"field": "labels.alertname", "op": "equals", "value": "DiskFull"}. Empty: only by service.',
                    ),
                ),
                (
                    "last_reviewed_on",
                    models.DateField(
                        blank=True, help_text="A runbook not reviewed for 180 days is marked stale.", null=True
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "services",
                    models.ManyToManyField(
                        blank=True,
                        help_text="Show on every incident of these services.",
                        related_name="runbooks",
                        to="incidents.service",
                    ),
                ),
            ],
            options={
                "ordering": ["title", "id"],
            },
        ),
        migrations.CreateModel(
            name="CommsObligation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("internal_update", "Internal update"),
                            ("management_briefing", "Management briefing"),
                            ("status_page", "Status page update"),
                            ("stakeholder_notice", "Stakeholder notice"),
                        ],
                        max_length=32,
                    ),
                ),
                ("due_at", models.DateTimeField()),
                (
                    "stage",
                    models.CharField(
                        choices=[
                            ("pending", "Not yet due"),
                            ("reminded", "Communications Lead reminded"),
                            ("escalated_ic", "Incident Commander told"),
                            ("escalated_manager", "Team manager told"),
                        ],
                        default="pending",
                        max_length=24,
                    ),
                ),
                ("next_action_at", models.DateTimeField(blank=True, null=True)),
                ("fulfilled_at", models.DateTimeField(blank=True, null=True)),
                (
                    "cancelled_at",
                    models.DateTimeField(blank=True, help_text="Resolved, or the severity changed.", null=True),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "fulfilled_by",
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
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="comms_obligations",
                        to="incidents.incident",
                    ),
                ),
                (
                    "severity",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="incidents.severitylevel"
                    ),
                ),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="obligations",
                        to="incidents.commsrule",
                    ),
                ),
                (
                    "update",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="fulfilled",
                        to="incidents.incidentupdate",
                    ),
                ),
            ],
            options={
                "ordering": ["due_at", "id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("next_action_at__isnull", False)),
                        fields=["next_action_at"],
                        name="comms_due_work",
                    ),
                    models.Index(fields=["incident", "severity"], name="comms_incident_severity"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("cancelled_at__isnull", True), ("fulfilled_at__isnull", True)),
                        fields=("incident", "rule"),
                        name="one_open_obligation_per_incident_and_rule",
                    )
                ],
            },
        ),
        migrations.AddIndex(
            model_name="incidentupdate",
            index=models.Index(fields=["incident", "posted_at"], name="update_incident_posted"),
        ),
        migrations.AddConstraint(
            model_name="commsrule",
            constraint=models.CheckConstraint(
                condition=models.Q(("first_due_after__gte", datetime.timedelta(0))), name="comms_first_due_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="commsrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("interval__isnull", True), ("interval__gt", datetime.timedelta(0)), _connector="OR"
                ),
                name="comms_interval_positive",
            ),
        ),
        migrations.AddConstraint(
            model_name="commsrule",
            constraint=models.CheckConstraint(
                condition=models.Q(("grace__gt", datetime.timedelta(0))), name="comms_grace_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="commsrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "stakeholder_notice"), _negated=True),
                    ("stakeholder_group__isnull", False),
                    _connector="OR",
                ),
                name="comms_notice_has_group",
            ),
        ),
        migrations.AddConstraint(
            model_name="commsrule",
            constraint=models.UniqueConstraint(
                condition=models.Q(("stakeholder_group__isnull", True)),
                fields=("severity", "kind"),
                name="one_comms_rule_per_severity_and_kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="commsrule",
            constraint=models.UniqueConstraint(
                condition=models.Q(("stakeholder_group__isnull", False)),
                fields=("severity", "kind", "stakeholder_group"),
                name="one_comms_rule_per_severity_kind_and_group",
            ),
        ),
        migrations.RunPython(create_default_cadence, migrations.RunPython.noop),
    ]
