from django.db import migrations

TABLE = "policies_acknowledgementrequest"


def leave_room(apps, schema_editor):
    """Pages of acknowledgement requests keep 15% free, so the reminder sweep's daily updates
    (stage, next date, manager told) can rewrite a row in its own page without touching every
    index (a "HOT" update). New pages only: a VACUUM FULL out of hours repacks older ones."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (fillfactor = 85)")


def fill_up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("policies", "0004_acknowledgement_tally_triggers")]

    operations = [migrations.RunPython(leave_room, fill_up)]
