"""appeals 0009: stored credit codes normalised, enterprises that were one merged, before 0010
makes the database refuse any other form.

Each test migrates the appeals app back to 0008, writes rows the way the old code could (codes
as typed), and migrates forward again. Real transactions, because the migrations run their
own; the serialized rollback restores the data migrations' rows for the tests that follow."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from appeals.models import Appeal, Enterprise
from departments.roles import Role
from tests.appeals.test_validators import full_width
from tests.factories import UserFactory, credit_code

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("appeals", "0008_timeline_event_code_choices")]
AFTER = [("appeals", "0010_enterprise_credit_code_normalised_constraint")]
CODE = credit_code("MA2MXXXXX")
OTHER = credit_code("MA2N0K1P7")


def migrate(targets):
    """Migrate to `targets`; the apps of the state reached (historical models)."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_forward():
    """Through 0010, then to the latest, so that today's models (which have columns added
    after 0010) can read the result."""
    migrate(AFTER)
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.fixture
def old_apps():
    """The models as they were before 0009, on a database migrated back to them. Afterwards
    the rows are removed and the database migrated forward again, whatever the test did."""
    apps = migrate(BEFORE)
    yield apps
    for model in ("HistoricalAppeal", "Appeal", "Enterprise"):
        apps.get_model("appeals", model).objects.all().delete()
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def _enterprise(apps, code: str, **fields):
    return apps.get_model("appeals", "Enterprise").objects.create(
        name=fields.pop("name", f"企业{code}"), credit_code=code, **fields
    )


def _appeal(apps, number: str, enterprise, commissioner=None):
    """An appeal of `enterprise` and its history row, as the filing service left them."""
    fields = {
        "number": number,
        "channel": "web",
        "title": "用电增容报装迟迟未办理",
        "content": "报装三个月无进展。",
        "enterprise_id": enterprise.pk,
        "credit_code": CODE,
        "commissioner_id": commissioner.pk if commissioner else None,
    }
    appeal = apps.get_model("appeals", "Appeal").objects.create(query_code_hash="x", **fields)
    apps.get_model("appeals", "HistoricalAppeal").objects.create(
        id=appeal.pk,
        filed_at=appeal.filed_at,
        history_date=timezone.now(),
        history_type="+",
        **fields,
    )
    return appeal


def test_enterprises_whose_codes_are_one_once_normalised_are_merged_into_the_normalised_one(
    old_apps, capsys
):
    commissioner = UserFactory(username="commissioner", roles=[Role.COMMISSIONER])
    first, second = (UserFactory(username=n, roles=[Role.ENTERPRISE]) for n in ("ent1", "ent2"))
    Tag = old_apps.get_model("appeals", "EnterpriseTag")
    sishang, high_tech = Tag.objects.get(code="sishang"), Tag.objects.get(code="high_tech")
    # Registered first, as typed on a phone: the commissioner, the phone and a second account.
    typed = _enterprise(
        old_apps, full_width(CODE.lower()), commissioner_id=commissioner.pk, contact_phone="139"
    )
    typed.users.add(first.pk, second.pk)
    typed.tags.add(high_tech)
    # Registered again, normalised: the row filings have been finding.
    kept = _enterprise(old_apps, CODE, name="宣城重点制造有限公司")
    kept.users.add(first.pk)
    kept.tags.add(sishang)
    old_appeal = _appeal(old_apps, "XC-2026-000001", typed, commissioner)
    new_appeal = _appeal(old_apps, "XC-2026-000002", kept)
    lonely = _enterprise(old_apps, OTHER.lower())

    migrate_forward()

    enterprise = Enterprise.objects.get(credit_code=CODE)
    assert enterprise.pk == kept.pk and enterprise.name == "宣城重点制造有限公司"
    assert not Enterprise.objects.filter(pk=typed.pk).exists()
    assert enterprise.commissioner_id == commissioner.pk
    assert enterprise.contact_phone == "139"
    assert enterprise.created_at == typed.created_at
    assert set(enterprise.users.all()) == {first, second}
    assert set(enterprise.tags.values_list("code", flat=True)) == {"sishang", "high_tech"}
    # Appeals and their history move; each keeps the commissioner it was filed with.
    assert list(enterprise.appeals.order_by("pk")) == [
        Appeal.objects.get(pk=old_appeal.pk),
        Appeal.objects.get(pk=new_appeal.pk),
    ]
    assert set(Appeal.history.values_list("enterprise_id", flat=True)) == {kept.pk}
    assert Appeal.objects.get(pk=new_appeal.pk).commissioner is None
    # A code without a twin is only normalised.
    assert Enterprise.objects.get(pk=lonely.pk).credit_code == OTHER
    assert Enterprise.objects.count() == 2
    printed = capsys.readouterr().out
    assert f"enterprise #{typed.pk}" in printed and f"merged into #{kept.pk}" in printed


def test_without_a_normalised_row_the_oldest_is_kept_with_its_own_commissioner(old_apps, capsys):
    ours, theirs = (
        UserFactory(username=n, roles=[Role.COMMISSIONER]) for n in ("commissioner", "other")
    )
    oldest = _enterprise(old_apps, CODE.lower(), commissioner_id=ours.pk)
    younger = _enterprise(old_apps, full_width(CODE), commissioner_id=theirs.pk)

    migrate_forward()

    enterprise = Enterprise.objects.get()
    assert enterprise.pk == oldest.pk
    assert enterprise.credit_code == CODE
    assert enterprise.commissioner_id == ours.pk
    printed = capsys.readouterr().out
    assert f"#{younger.pk}'s commissioner user #{theirs.pk} is dropped" in printed


def test_codes_that_cannot_be_normalised_stop_the_migration_and_nothing_changes(old_apps):
    broken = _enterprise(old_apps, "91-3418 02", name="代码录错的企业")
    typed = _enterprise(old_apps, CODE.lower())

    with pytest.raises(RuntimeError) as caught:
        migrate(AFTER)

    assert f"#{broken.pk} 代码录错的企业 '91-3418 02'" in str(caught.value)
    Enterprise = old_apps.get_model("appeals", "Enterprise")
    assert Enterprise.objects.get(pk=typed.pk).credit_code == CODE.lower()
    assert Enterprise.objects.count() == 2


def test_normalised_codes_are_left_as_they_are(old_apps, capsys):
    enterprise = _enterprise(old_apps, CODE)

    migrate(AFTER)

    assert Enterprise.objects.get().credit_code == CODE
    assert Enterprise.objects.get().pk == enterprise.pk
    assert "Credit codes normalised" not in capsys.readouterr().out
