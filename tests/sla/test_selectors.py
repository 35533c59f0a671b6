"""Which SLA policy an appeal gets (sla.selectors.policy_for): the most specific match on
category × priority, over the whole table."""

from itertools import product

import pytest

from appeals.models import Appeal
from sla.models import Policy
from sla.selectors import policy_for
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db

NORMAL, URGENT = Appeal.Priority.NORMAL, Appeal.Priority.URGENT
SUB, PARENT, DEFAULT = "subcategory", "parent", "default"
EXACT, ALL = "its priority", "all priorities"

# policy_for's ranking, best first: the appeal's priority before all priorities, then the
# nearest category.
RANKING = [
    (SUB, EXACT),
    (PARENT, EXACT),
    (DEFAULT, EXACT),
    (SUB, ALL),
    (PARENT, ALL),
    (DEFAULT, ALL),
]


def _label(policies):
    return " + ".join(f"{where}/{scope}" for where, scope in policies) or "none"


def _whole_table():
    """Both priorities × every set of the six policies that can match (64 sets)."""
    for priority in (NORMAL, URGENT):
        for present in product((False, True), repeat=len(RANKING)):
            existing = [policy for policy, here in zip(RANKING, present, strict=True) if here]
            expected = existing[0] if existing else None  # `existing` keeps RANKING's order
            name = f"{priority}, {_label(existing)} -> {_label([expected] if expected else [])}"
            yield pytest.param(priority, existing, expected, id=name)


@pytest.mark.parametrize(("priority", "existing", "expected"), list(_whole_table()))
def test_an_appeal_in_a_subcategory_gets_the_best_ranked_policy_that_exists(
    priority, existing, expected
):
    Policy.objects.all().delete()  # the seeded defaults (sla migration 0003) are table rows too
    parent = CategoryFactory(code="land", name="用地")
    sub = CategoryFactory(code="land-approval", name="用地审批", parent=parent)
    category_at = {SUB: sub, PARENT: parent, DEFAULT: None}
    other = URGENT if priority == NORMAL else NORMAL
    labels = {}
    # The other priority's policies exist at every level and never apply.
    for where, category in category_at.items():
        labels[Policy.objects.create(category=category, priority=other).pk] = (where, other)
    for where, scope in existing:
        policy = Policy.objects.create(
            category=category_at[where], priority=priority if scope == EXACT else ""
        )
        labels[policy.pk] = (where, scope)

    chosen = policy_for(Appeal(category=sub, priority=priority))

    assert labels.get(chosen.pk) == expected


def test_with_no_policy_at_all_an_appeal_gets_the_built_in_limits():
    Policy.objects.all().delete()

    chosen = policy_for(Appeal(category=CategoryFactory(), priority=URGENT))

    assert chosen.pk is None
    assert chosen.reply_days == Policy().reply_days


def test_an_urgent_appeal_keeps_the_urgent_default_when_its_category_has_an_all_priorities_policy():
    # The seeded defaults: reply in 10 working days, 5 when urgent. The category's policy for
    # all priorities used to override the urgent default: 10 days for an urgent appeal.
    category = CategoryFactory(code="tax", name="税费")
    Policy.objects.create(category=category, priority="", reply_days=8)

    assert policy_for(Appeal(category=category, priority=URGENT)).reply_days == 5
    assert policy_for(Appeal(category=category, priority=NORMAL)).reply_days == 8
