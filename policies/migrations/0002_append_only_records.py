from django.db import migrations

from core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_initial")]

    operations = [
        append_only("policies_acknowledgement"),
        append_only("policies_quizattempt"),
        append_only("policies_policyreview"),
    ]
