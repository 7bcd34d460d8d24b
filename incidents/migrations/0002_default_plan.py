"""The default plan: the template of the incident response plan guide, word for word where it
gives the words (../shared/reference/incident-response-plan-guide.txt). See docs/plan.md for the
values the guide leaves open and what we chose."""

from datetime import timedelta

from django.db import migrations

PLAN = {
    "organisation_name": "Your organisation",
    "purpose_and_scope": (
        "This plan governs the detection, response, resolution, and review of production incidents "
        "affecting the services listed as in scope. It applies to all engineering and operations team "
        "members who may be on call or involved in incident response."
    ),
    "incident_definition": (
        "An incident is any unplanned disruption to a production service that causes or risks "
        "user-visible impact."
    ),
    "exclusions": (
        "Planned maintenance windows (with user notification) are excluded. Self-resolving alerts that "
        "do not breach SLA thresholds are excluded."
    ),
    "post_incident_review": (
        "All P1 and P2 incidents require a blameless postmortem within 5 business days of resolution. "
        "P3 incidents are reviewed in the weekly incident review meeting. Action items are tracked in IRP "
        "with named owners and due dates. Completion reviewed at the following postmortem."
    ),
    "review_interval_days": 90,
}

SEVERITY_LEVELS = [
    {
        "name": "P1",
        "title": "Critical",
        "rank": 1,
        "impact_criteria": "Full service down or majority of users impacted",
        "ack_window": timedelta(minutes=5),
        "resolution_target_kind": "duration",
        "resolution_target": timedelta(minutes=60),
        "internal_update_interval": timedelta(minutes=15),
        "status_page_update_interval": timedelta(minutes=30),
        "pages_responders": True,
        "postmortem_required": True,
        "postmortem_due_business_days": 5,
        "review_practice": "Blameless postmortem within 5 business days of resolution.",
    },
    {
        "name": "P2",
        "title": "Major",
        "rank": 2,
        "impact_criteria": "Core feature degraded, subset of users impacted",
        "ack_window": timedelta(minutes=15),
        "resolution_target_kind": "duration",
        "resolution_target": timedelta(hours=4),
        "internal_update_interval": timedelta(minutes=30),
        "status_page_update_interval": timedelta(minutes=60),
        "pages_responders": True,
        "postmortem_required": True,
        "postmortem_due_business_days": 5,
        "review_practice": "Blameless postmortem within 5 business days of resolution.",
    },
    {
        "name": "P3",
        "title": "Minor",
        "rank": 3,
        "impact_criteria": "Non-critical feature impacted, workaround available",
        "ack_window": timedelta(minutes=30),
        "resolution_target_kind": "next_business_day",
        "resolution_target": None,
        "internal_update_interval": None,
        "status_page_update_interval": None,
        "pages_responders": True,
        "postmortem_required": False,
        "postmortem_due_business_days": None,
        "review_practice": "P3 incidents are reviewed in the weekly incident review meeting.",
    },
    {
        "name": "P4",
        "title": "Low",
        "rank": 4,
        "impact_criteria": "Cosmetic or minor defect, no user impact",
        "ack_window": None,
        "resolution_target_kind": "scheduled_sprint",
        "resolution_target": None,
        "internal_update_interval": None,
        "status_page_update_interval": None,
        "pages_responders": False,
        "postmortem_required": False,
        "postmortem_due_business_days": None,
        "review_practice": "",
    },
]

ROLES = [
    {
        "key": "incident-commander",
        "name": "Incident Commander",
        "summary": "Owns response coordination.",
        "responsibilities": (
            "Owns response coordination. Declares incident severity. Manages stakeholder communication. "
            "Calls the incident resolved."
        ),
        "required_for": ["P1", "P2", "P3"],
        "position": 1,
    },
    {
        "key": "technical-lead",
        "name": "Technical Lead",
        "summary": "Owns diagnosis and remediation.",
        "responsibilities": (
            "Owns diagnosis and remediation. Has system access. Reports status to IC every 15 minutes "
            "for P1, every 30 for P2."
        ),
        "required_for": ["P1", "P2", "P3"],
        "position": 2,
    },
    {
        "key": "communications-lead",
        "name": "Communications Lead",
        "summary": "Drafts and sends stakeholder updates.",
        "responsibilities": (
            "Drafts and sends stakeholder updates. Manages status page. Coordinates with customer success "
            "and leadership for P1/P2 incidents."
        ),
        "required_for": ["P1", "P2"],
        "position": 3,
    },
    {
        "key": "subject-matter-expert",
        "name": "Subject Matter Expert",
        "summary": "Brings expertise in a component outside the on-call engineer's domain.",
        "responsibilities": (
            "Brought in under the direction of the IC for incidents involving components outside the "
            "on-call engineer's primary domain. Contributes technical expertise but doesn't own the "
            "incident response process."
        ),
        "required_for": [],
        "position": 4,
    },
]


def create_default_plan(apps, schema_editor):
    ResponsePlan = apps.get_model("incidents", "ResponsePlan")
    SeverityLevel = apps.get_model("incidents", "SeverityLevel")
    Role = apps.get_model("incidents", "Role")
    plan, created = ResponsePlan.objects.get_or_create(pk=1, defaults=PLAN)
    if not created:
        return
    # Also run on today's models (conftest's migrated_data), which lost the interval fields in 0010.
    fields = {field.name for field in SeverityLevel._meta.get_fields()}
    levels = {}
    for values in SEVERITY_LEVELS:
        present = {name: value for name, value in values.items() if name in fields}
        levels[values["name"]] = SeverityLevel.objects.create(plan=plan, **present)
    for values in ROLES:
        values = dict(values)
        required = values.pop("required_for")
        role = Role.objects.create(plan=plan, **values)
        role.required_for.set([levels[name] for name in required])


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]
    operations = [migrations.RunPython(create_default_plan, migrations.RunPython.noop)]
