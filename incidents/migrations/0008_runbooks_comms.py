# Runbooks and the communication cadence (rules per severity, stakeholder groups, obligations, updates).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0007_workspace"),
    ]

    operations = []
