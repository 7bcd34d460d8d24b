# The public status page (components, public incidents, maintenance, subscribers).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0008_runbooks_comms"),
    ]

    operations = []
