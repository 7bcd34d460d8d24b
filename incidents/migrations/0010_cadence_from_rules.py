# The communication cadence lives in CommsRule rows (0008 copied these intervals into them): the
# old per-severity fields would only mislead a plan owner who edits them.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0009_status_page"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="severitylevel",
            name="internal_update_interval_positive",
        ),
        migrations.RemoveConstraint(
            model_name="severitylevel",
            name="status_page_update_interval_positive",
        ),
        migrations.RemoveField(
            model_name="severitylevel",
            name="internal_update_interval",
        ),
        migrations.RemoveField(
            model_name="severitylevel",
            name="status_page_update_interval",
        ),
    ]
