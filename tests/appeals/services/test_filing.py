"""appeal_file: the number, the query code, who the appeal is linked to, what is stored
normalised, and that a refused filing stores nothing."""

import base64
import hashlib
import re
import string
from datetime import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appeals.codes import query_code_hash
from appeals.events import event_text
from appeals.models import Appeal, Notification, NumberSequence
from appeals.services import filing
from core.errors import ServiceError, ServiceForbidden
from tests.appeals.services.helpers import SHANGHAI, S, assert_change_recorded
from tests.factories import credit_code

pytestmark = pytest.mark.django_db


# --- Filing -------------------------------------------------------------------------------


def test_filing_gives_a_number_made_of_prefix_year_and_six_digits(file_appeal, settings):
    filed = file_appeal()

    prefix = re.escape(settings.APPEAL_NUMBER_PREFIX)
    assert re.fullmatch(rf"{prefix}-2026-\d{{6}}", filed.appeal.number)
    assert filed.appeal.number == f"{settings.APPEAL_NUMBER_PREFIX}-2026-000001"


def test_numbers_are_sequential_within_a_year(file_appeal):
    numbers = [file_appeal().appeal.number for _ in range(3)]

    assert [n[-6:] for n in numbers] == ["000001", "000002", "000003"]


def test_the_number_grows_past_six_digits_in_a_busy_year(file_appeal, settings):
    prefix = settings.APPEAL_NUMBER_PREFIX
    NumberSequence.objects.create(prefix=prefix, year=2026, last=999_998)

    numbers = [file_appeal().appeal.number for _ in range(2)]

    # What the receipt shows is what is stored (on PostgreSQL the database writes the number).
    assert numbers == [f"{prefix}-2026-999999", f"{prefix}-2026-1000000"]
    assert set(Appeal.objects.values_list("number", flat=True)) == set(numbers)


def test_an_id_once_given_is_never_given_again(file_appeal):
    # The id is taken before the number (appeals.services.filing._appeal_id): after the last
    # appeal is gone, the next one still gets a new id, as the database's own ids do.
    gone = file_appeal().appeal
    gone_id = gone.pk
    Appeal.objects.filter(pk=gone_id).delete()

    filed = file_appeal().appeal

    assert filed.pk > gone_id
    assert Appeal.objects.get(pk=filed.pk).number == filed.number


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the ids come from PostgreSQL's sequence"
)


@postgresql_only
def test_a_process_takes_the_ids_of_a_block_of_filings_in_one_round_trip(file_appeal):
    filing._held.owner = None  # as in a new process
    with CaptureQueriesContext(connection) as ctx:
        ids = [file_appeal().appeal.pk for _ in range(17)]

    taken = [q["sql"] for q in ctx.captured_queries if "nextval" in q["sql"]]
    assert len(taken) == 2  # sixteen ids, then sixteen more for the seventeenth filing
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert set(Appeal.objects.values_list("pk", flat=True)) == set(ids)


@postgresql_only
def test_a_forked_process_never_gives_the_ids_its_parent_holds(file_appeal, monkeypatch):
    file_appeal()  # the parent holds the rest of its block
    parents = set(filing._held.ids)
    monkeypatch.setattr(filing.os, "getpid", lambda: -1)  # a child forked from it

    child = {file_appeal().appeal.pk for _ in range(3)}

    assert parents and not child & parents


def test_the_number_is_taken_after_the_rows_that_name_the_appeal_are_built(
    file_appeal, monkeypatch
):
    """The year's row is locked from the number until the filing commits, and the next filing
    waits for it: the timeline event, audit record and clocks are built before, not while it is
    held."""

    steps: list[str] = []
    record, insert_numbered = filing.record, filing._insert_numbered

    def recorded(*args, **kwargs):
        steps.append("event and clocks built")
        return record(*args, **kwargs)

    def numbered(*args, **kwargs):
        steps.append("number taken")
        return insert_numbered(*args, **kwargs)

    monkeypatch.setattr(filing, "record", recorded)
    monkeypatch.setattr(filing, "_insert_numbered", numbered)

    filed = file_appeal()

    assert steps == ["event and clocks built", "number taken"]
    assert filed.appeal.clocks.count() == 2 and filed.appeal.events.count() == 1


def test_the_number_takes_the_year_of_the_local_date_and_restarts_each_year(file_appeal):
    # 2026-01-01 00:30 in Shanghai is still 2025 in UTC: the local year counts.
    with time_machine.travel(datetime(2025, 12, 31, 23, 30, tzinfo=SHANGHAI), tick=False):
        first_filed = file_appeal().appeal.number
        second_filed = file_appeal().appeal.number
    with time_machine.travel(datetime(2026, 1, 1, 0, 30, tzinfo=SHANGHAI), tick=False):
        new_year = file_appeal().appeal.number

    assert first_filed.endswith("-2025-000001")
    assert second_filed.endswith("-2025-000002")
    assert new_year.endswith("-2026-000001")


def test_the_query_code_is_128_random_bits_in_base32_and_only_its_hash_is_stored(file_appeal):
    filed = file_appeal()

    raw = filed.query_code.replace("-", "")
    assert len(raw) == 26
    assert set(raw) <= set(string.ascii_uppercase + "234567")
    assert len(base64.b32decode(raw + "=" * 6)) == 16  # 128 bits
    appeal = Appeal.objects.get(pk=filed.appeal.pk)
    assert appeal.query_code_hash == hashlib.sha256(raw.encode()).hexdigest()
    # Typed back in lower case, with spaces instead of dashes, it still matches.
    assert query_code_hash(filed.query_code.lower().replace("-", " ")) == (appeal.query_code_hash)


def test_the_query_code_is_stored_nowhere_in_clear_and_its_hash_not_in_history(file_appeal):
    filed = file_appeal()

    raw = filed.query_code.replace("-", "")
    appeal = Appeal.objects.get(pk=filed.appeal.pk)
    stored = [
        *map(str, Appeal.objects.filter(pk=appeal.pk).values().get().values()),
        *map(event_text, appeal.events.all()),
        *(str(params) for params in appeal.events.values_list("params", flat=True)),
        *(str(v) for row in appeal.history.values() for v in row.values()),
    ]
    assert not any(raw in text or filed.query_code in text for text in stored)
    assert "query_code_hash" not in {f.name for f in appeal.history.model._meta.fields}


def test_every_filing_gets_its_own_query_code(file_appeal):
    codes = {file_appeal().query_code for _ in range(5)}

    assert len(codes) == 5


def test_filing_records_history_and_a_public_timeline_event(file_appeal, enterprise_user):
    appeal = file_appeal().appeal

    assert_change_recorded(
        appeal, status=S.TRIAGE, reason="filed", actor=enterprise_user, event="filed"
    )
    # The channel it came through; the number is the appeal's own, shown above its timeline.
    assert "网上填报" in event_text(appeal.events.get())


def test_an_enterprise_account_filing_links_the_appeal_to_its_enterprise(
    file_appeal, enterprise_user, enterprise
):
    appeal = file_appeal().appeal

    assert appeal.enterprise == enterprise
    assert appeal.filed_by == enterprise_user


def test_a_public_filing_naming_a_known_enterprise_reaches_its_commissioner_but_not_its_accounts(
    file_appeal, enterprise, commissioner
):
    enterprise.commissioner = commissioner
    enterprise.save()

    appeal = file_appeal(actor=None, credit_code=enterprise.credit_code.lower()).appeal

    # A stranger can type any code: the enterprise's accounts must not see the appeal.
    assert appeal.enterprise is None
    assert appeal.commissioner == commissioner
    assert appeal.credit_code == enterprise.credit_code


def test_an_enterprise_account_naming_its_own_code_links_the_appeal(
    file_appeal, enterprise, enterprise_user
):
    appeal = file_appeal(actor=enterprise_user, credit_code=enterprise.credit_code).appeal

    assert appeal.enterprise == enterprise


def test_an_enterprise_account_naming_another_enterprise_does_not_link_it(
    file_appeal, enterprise_user
):
    from tests.factories import EnterpriseFactory

    other = EnterpriseFactory(name="另一家公司")
    appeal = file_appeal(actor=enterprise_user, credit_code=other.credit_code).appeal

    assert appeal.enterprise is None
    assert appeal.filed_by == enterprise_user


def test_an_anonymous_appeal_needs_no_name_or_phone(file_appeal):
    appeal = file_appeal(
        actor=None, is_anonymous=True, enterprise_name="", contact_name="", contact_phone=""
    ).appeal

    assert appeal.status == S.TRIAGE
    assert appeal.display_enterprise == "（无署名）"


def test_an_anonymous_appeal_keeps_no_name_or_phone_sent_with_it(file_appeal):
    # 无署名 with a name and a phone anyway (a stale page, an API client): neither is kept,
    # and no SMS goes to that phone.
    appeal = file_appeal(
        actor=None, is_anonymous=True, contact_name="李四", contact_phone="13905630002"
    ).appeal

    appeal.refresh_from_db()
    assert (appeal.contact_name, appeal.contact_phone) == ("", "")
    assert not Notification.objects.filter(channel=Notification.Channel.SMS).exists()


def test_an_anonymous_appeal_is_not_refused_for_a_bad_phone_it_does_not_keep(file_appeal):
    appeal = file_appeal(actor=None, is_anonymous=True, contact_phone="12345").appeal

    assert appeal.contact_phone == ""


def test_staff_may_enter_a_hotline_appeal(file_appeal, commissioner):
    appeal = file_appeal(actor=commissioner, channel=Appeal.Channel.HOTLINE).appeal

    assert appeal.channel == Appeal.Channel.HOTLINE


def test_filing_keeps_the_chinese_punctuation_of_titles_and_names(file_appeal):
    # NFKC belongs to identifiers (codes, phones); it turns "，" into "," and "（" into "(",
    # which changes an enterprise's registered name and the enterprise's own words.
    appeal = file_appeal(
        title="厂区道路破损，货车无法通行：请尽快修复",
        enterprise_name="宣城华信（集团）有限公司",
    ).appeal

    appeal.refresh_from_db()
    assert appeal.title == "厂区道路破损，货车无法通行：请尽快修复"
    assert appeal.enterprise_name == "宣城华信（集团）有限公司"


def test_zero_width_characters_and_outer_spaces_are_removed_from_the_title(file_appeal):
    appeal = file_appeal(title="  道路\u200b破损\ufeff ").appeal

    assert appeal.title == "道路破损"


def test_full_width_phone_and_credit_code_are_stored_normalised(file_appeal):
    code = credit_code("MA2MXXXXX")
    full_width = code.translate({ord(c): ord(c) + 0xFEE0 for c in code})

    appeal = file_appeal(
        actor=None, credit_code=full_width, contact_phone="１３８０５６３０００２"
    ).appeal

    assert appeal.credit_code == code
    assert appeal.contact_phone == "13805630002"


@pytest.mark.parametrize(
    ("fields", "code", "error"),
    [
        ({"credit_code": "91341802MA2MXXXXX0"}, "invalid_credit_code", ServiceError),
        ({"contact_phone": "12345"}, "invalid_phone", ServiceError),
        ({"contact_phone": ""}, "required", ServiceError),
        ({"contact_name": ""}, "required", ServiceError),
        ({"enterprise_name": ""}, "required", ServiceError),
        ({"title": "  "}, "required", ServiceError),
        ({"title": "长" * 101}, "too_long", ServiceError),
        ({"channel": "fax"}, "invalid_channel", ServiceError),
        ({"channel": Appeal.Channel.HOTLINE}, "forbidden", ServiceForbidden),
    ],
)
def test_a_refused_filing_stores_nothing_and_uses_no_number(file_appeal, fields, code, error):
    # The credit code above has a wrong check character (the right one is not "0").
    assert credit_code("MA2MXXXXX")[-1] != "0"

    with pytest.raises(error) as caught:
        file_appeal(**fields)  # by enterprise_user, who may file on the web only

    assert caught.value.code == code
    assert not Appeal.objects.exists()
    assert not NumberSequence.objects.filter(last__gt=0).exists()
    assert file_appeal().appeal.number.endswith("-000001")


def test_a_filing_with_an_unknown_priority_is_refused(file_appeal):
    # Only Appeal.Priority values may be stored; API clients can send anything.
    with pytest.raises(ServiceError) as caught:
        file_appeal(priority="super-urgent")

    assert caught.value.code == "invalid_priority"

    assert not Appeal.objects.exists()
