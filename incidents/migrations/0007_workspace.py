# The responder workspace (roles held on incidents, severity changes, runbooks, communication cadence).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

TIMELINE_KINDS = [
    ("triggered", "Incident opened"),
    ("alert_received", "Alert received"),
    ("alert_grouped", "Alert grouped"),
    ("alert_resolved", "Alert resolved by source"),
    ("severity_set", "Severity set"),
    ("paging_suppressed", "Paging suppressed"),
    ("acknowledged", "Acknowledged"),
    ("retriggered", "Re-triggered"),
    ("resolved", "Resolved"),
    ("note", "Note"),
    ("escalated", "Escalation step"),
    ("notified", "Notification"),
    ("escalation_ended", "Escalation ended"),
    ("reassigned", "Reassigned"),
    ("declared", "Declared"),
    ("role_assigned", "Role assigned"),
    ("severity_changed", "Severity changed"),
    ("responder_added", "Responder added"),
    ("merged", "Merged"),
    ("update_posted", "Update posted"),
    ("comms_reminder", "Communication reminder"),
    ("status_page", "Status page"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0006_unlogged_ingestion_window"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="timelineentry",
            name="kind",
            field=models.CharField(choices=TIMELINE_KINDS, max_length=32),
        ),
        # db_default: the ingestion fast path (services/ingestion_sql.py) inserts incidents with raw SQL.
        migrations.AddField(
            model_name="incident",
            name="description",
            field=models.TextField(blank=True, db_default="", default="", help_text="What is seen, in words."),
        ),
        migrations.AddField(
            model_name="incident",
            name="declared_by",
            field=models.ForeignKey(
                blank=True,
                help_text="Who declared it by hand; empty when an alert opened it.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="incident",
            name="resolution_note",
            field=models.TextField(blank=True, db_default="", default="", help_text="What fixed it."),
        ),
        migrations.AddField(
            model_name="incident",
            name="root_cause_hypothesis",
            field=models.TextField(
                blank=True, db_default="", default="", help_text="A first idea of the cause, for the postmortem."
            ),
        ),
        migrations.AddField(
            model_name="incident",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                help_text="The incident this one was merged into (a duplicate).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="merged_from",
                to="incidents.incident",
            ),
        ),
        migrations.CreateModel(
            name="IncidentRole",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("role_key", models.SlugField(editable=False, max_length=64)),
                ("assigned_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "ended_at",
                    models.DateTimeField(blank=True, help_text="Empty while the person holds the role.", null=True),
                ),
                (
                    "assigned_by",
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
                        related_name="role_assignments",
                        to="incidents.incident",
                    ),
                ),
                (
                    "role",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="assignments", to="incidents.role"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="incident_roles",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["assigned_at", "id"],
                "indexes": [models.Index(fields=["incident", "ended_at"], name="incident_role_current")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("ended_at__isnull", True))
                        & ~models.Q(("role_key", "subject-matter-expert")),
                        fields=("incident", "role"),
                        name="one_current_holder_per_incident_role",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("ended_at__isnull", True)),
                        fields=("incident", "role", "user"),
                        name="one_current_assignment_per_person_and_role",
                    ),
                ],
            },
        ),
    ]
