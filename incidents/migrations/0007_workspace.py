# The responder workspace (roles held on incidents, severity changes, runbooks, communication cadence).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0006_unlogged_ingestion_window"),
    ]

    operations = []
