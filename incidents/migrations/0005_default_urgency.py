from django.db import migrations


def set_urgency(apps, schema_editor):
    # The guide: P1/P2 wake people up; a P3 waits for working hours and never reaches the manager.
    SeverityLevel = apps.get_model("incidents", "SeverityLevel")
    SeverityLevel.objects.filter(name__in=["P3", "P4"]).update(urgency="low")
    SeverityLevel.objects.filter(name="P3", escalation_depth__isnull=True).update(escalation_depth=2)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0004_escalation")]

    operations = [migrations.RunPython(set_urgency, migrations.RunPython.noop)]
