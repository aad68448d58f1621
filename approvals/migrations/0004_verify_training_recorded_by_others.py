from django.db import migrations
from django.db.models import F


def verify_records_made_for_others(apps, schema_editor):
    """Until now only administrators could record training for someone else: such a record
    counts as verified by the person who made it, when they made it. Self-recorded ones
    stay unverified until an administrator or SLT vouches for them (seed 001 §4)."""
    TrainingRecord = apps.get_model("approvals", "TrainingRecord")
    TrainingRecord.objects.exclude(recorded_by=F("user")).update(
        verified_by=F("recorded_by"), verified_at=F("created_at")
    )


class Migration(migrations.Migration):
    dependencies = [("approvals", "0003_training_verified_intake_deliveries")]

    operations = [migrations.RunPython(verify_records_made_for_others, migrations.RunPython.noop)]
