"""Data: every enterprise's credit code in its normalised form (appeals.validators), before
0010 makes the database refuse any other form.

Until now a code was stored as typed, so "９１３４…" and "91341802ma…" could each have a row
of their own. Rows whose codes are the same once normalised are one enterprise, and they are
merged into one row:

- the row kept is the one already stored normalised (the one filings have been finding and
  linking), or else the oldest (lowest id);
- the others' appeals (and their history rows, so that history still names an enterprise that
  exists), accounts and tags move to it;
- it keeps its own commissioner, region and contacts, and takes a duplicate's where it has
  none; a duplicate's different commissioner is dropped and printed, for the office to check;
- the duplicates are deleted.

Appeals keep the commissioner they were filed with: who handles an appeal already in the loop
is not changed by a migration. A code that is not 18 characters of the GB 32100 alphabet even
once normalised cannot be repaired here: the migration stops and lists those rows, unchanged,
so that someone corrects them (in the admin or the shell) and runs it again. A wrong check
character is not this migration's business (the admin refuses it on the next edit).

Not reversible in substance (what was typed is gone, merged rows stay merged): going back is
allowed and changes nothing.
"""

import re
from collections import defaultdict

from django.db import migrations

from appeals.validators import CREDIT_CODE_STORED, normalize_credit_code

FILLED_FROM_DUPLICATES = ("commissioner_id", "region_id", "contact_name", "contact_phone")


def merge_enterprise(apps, keep, duplicate) -> list[str]:
    """Move everything of `duplicate` to `keep`, then delete it. Returns what to print."""
    Enterprise = apps.get_model("appeals", "Enterprise")
    Appeal = apps.get_model("appeals", "Appeal")
    HistoricalAppeal = apps.get_model("appeals", "HistoricalAppeal")
    notes = []

    Appeal.objects.filter(enterprise_id=duplicate.pk).update(enterprise_id=keep.pk)
    HistoricalAppeal.objects.filter(enterprise_id=duplicate.pk).update(enterprise_id=keep.pk)
    for name, column in (("users", "user_id"), ("tags", "enterprisetag_id")):
        through = Enterprise._meta.get_field(name).remote_field.through
        held = through.objects.filter(enterprise_id=keep.pk).values(column)
        moved = through.objects.filter(enterprise_id=duplicate.pk).exclude(
            **{f"{column}__in": held}
        )
        through.objects.bulk_create(
            [
                through(enterprise_id=keep.pk, **{column: value})
                for value in moved.values_list(column, flat=True)
            ]
        )

    changed = []
    for field in FILLED_FROM_DUPLICATES:
        theirs = getattr(duplicate, field)
        if not getattr(keep, field) and theirs:
            setattr(keep, field, theirs)
            changed.append(field)
    if duplicate.commissioner_id and duplicate.commissioner_id != keep.commissioner_id:
        notes.append(
            f"  enterprise #{keep.pk} keeps commissioner user #{keep.commissioner_id}; "
            f"#{duplicate.pk}'s commissioner user #{duplicate.commissioner_id} is dropped"
        )
    if duplicate.created_at < keep.created_at:
        keep.created_at = duplicate.created_at
        changed.append("created_at")
    if changed:
        keep.save(update_fields=changed)
    notes.insert(
        0,
        f"  enterprise #{duplicate.pk} {duplicate.name} ({duplicate.credit_code!r}) merged into "
        f"#{keep.pk} {keep.name}",
    )
    duplicate.delete()
    return notes


def normalise_credit_codes(apps, schema_editor):
    Enterprise = apps.get_model("appeals", "Enterprise")
    by_code = defaultdict(list)
    for row in Enterprise.objects.order_by("pk").only("pk", "name", "credit_code"):
        by_code[normalize_credit_code(row.credit_code)].append(row)

    unusable = [
        f"  #{row.pk} {row.name} {row.credit_code!r}"
        for code, rows in by_code.items()
        if not re.match(CREDIT_CODE_STORED, code)
        for row in rows
    ]
    if unusable:
        raise RuntimeError(
            "These enterprises' credit codes are not 18 characters of the GB 32100 alphabet "
            "even after normalisation; correct them and migrate again (nothing was changed):\n"
            + "\n".join(unusable)
        )

    notes = []
    for code, rows in by_code.items():
        if all(row.credit_code == code for row in rows):
            continue
        keep = next((row for row in rows if row.credit_code == code), rows[0])
        keep = Enterprise.objects.get(pk=keep.pk)
        for row in rows:
            if row.pk != keep.pk:
                notes += merge_enterprise(apps, keep, Enterprise.objects.get(pk=row.pk))
        if keep.credit_code != code:
            notes.append(f"  enterprise #{keep.pk} {keep.credit_code!r} -> {code}")
            Enterprise.objects.filter(pk=keep.pk).update(credit_code=code)
    if notes:
        print("\nCredit codes normalised:\n" + "\n".join(notes))


class Migration(migrations.Migration):
    dependencies = [("appeals", "0008_timeline_event_code_choices")]
    operations = [migrations.RunPython(normalise_credit_codes, migrations.RunPython.noop)]
