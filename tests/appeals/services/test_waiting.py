"""appeal_rating_lapse: the reply nobody rated."""

import pytest

from appeals import services
from appeals.models import Rating
from tests.appeals.services.helpers import S, assert_change_recorded
from tests.workflow import snapshot

pytestmark = pytest.mark.django_db


def test_an_unrated_reply_lapses_into_acceptance_once(appeal_at):
    appeal = appeal_at(S.REPLIED)

    services.appeal_rating_lapse(appeal_id=appeal.pk)

    assert_change_recorded(
        appeal, status=S.CLOSED, reason="rating_lapsed", actor=None, event="rating_lapsed"
    )
    assert appeal.replies.get().rating.score == Rating.Score.LAPSED
    before = snapshot(appeal)
    assert services.appeal_rating_lapse(appeal_id=appeal.pk) is None
    assert snapshot(appeal) == before
