from django.db import migrations

from core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [
        append_only("incidents_incidentaction"),
        append_only("incidents_evidence"),
        append_only("incidents_policybreach"),
        append_only("incidents_retentionreview"),
    ]
