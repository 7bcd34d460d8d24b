# The public status page (components, public incidents, maintenance, subscribers).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0007_workspace"),
    ]

    operations = []
