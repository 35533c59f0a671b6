"""Timeline event codes are a closed set: services can record only an EventCode, and every code
reads as words in the reader's language."""

import re

import pytest
from django.utils import translation

from appeals.models import EventCode, TimelineEvent
from appeals.services._common import record
from appeals.templatetags.appeals_tags import event_label

CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.mark.django_db
def test_a_service_cannot_record_an_event_code_outside_the_enumeration(file_appeal, office):
    appeal = file_appeal().appeal
    before = TimelineEvent.objects.count()

    with pytest.raises(ValueError, match="signd"):
        record(appeal, "signd", actor=office)

    assert TimelineEvent.objects.count() == before


@pytest.mark.parametrize("code", list(EventCode))
def test_every_event_code_reads_in_chinese_by_default_and_in_english_when_asked(code):
    with translation.override("zh-hans"):
        chinese = event_label(code.value)
    with translation.override("en"):
        english = event_label(code.value)

    assert CJK.search(chinese), chinese
    assert english != code.value and not CJK.search(english), english
