from django.db import migrations


def install_triggers(apps, schema_editor):
    """On PostgreSQL: the triggers that keep the tallies, then the tallies counted from the requests so far."""
    from policies import tallies

    if tallies.kept(schema_editor.connection):
        with schema_editor.connection.cursor() as cursor:
            tallies.install(cursor)
            tallies.rebuild(cursor)


def uninstall_triggers(apps, schema_editor):
    from policies import tallies

    if tallies.kept(schema_editor.connection):
        with schema_editor.connection.cursor() as cursor:
            tallies.uninstall(cursor)




class Migration(migrations.Migration):
    """Separate from 0003 so that the tallies' unique index (which the triggers' upserts need)
    exists: a migration creates its indexes only at its end."""

    dependencies = [("policies", "0003_acknowledgement_tally")]

    operations = [migrations.RunPython(install_triggers, uninstall_triggers)]
