"""Who may do what with meetings, grids and contacts: the one place that decides it, asked by
the pages, the API and the services alike (as appeals.actions does for appeals).

Meetings
- schedule: the office, anywhere; a member of a county government (县市区政府) for its own
  county, as the organiser.
- enter the appeals raised: the office and commissioners, the staff that appeals.services.
  appeal_file lets register appeals from channels other than the web form and the API.
- see: the office, leaders and commissioners see every meeting; a department's staff see the
  meetings their department organised or attended, and of their appeals only those
  appeals_visible_to lets them see (the ones routed to their department).
- the closing report: whoever sees every appeal of the meeting (the office, leaders,
  commissioners). A county's staff see, like any department, only their own appeals: the
  report for the presiding leader is the office's to give.

Grids and contacts
- log a contact: a commissioner, with an enterprise of one of their grids or one of their
  key enterprises (Enterprise.commissioner).
- raise an appeal from a contact: the commissioner who logged it, once.
- see grids and coverage: the office and leaders see all; a commissioner their own grids and
  key enterprises.
"""

from django.utils.translation import gettext as _

from appeals.models import Enterprise
from core.errors import ServiceConflict
from departments.models import Department
from departments.roles import Role, has_role
from departments.selectors import department_ids_of
from engagement.models import Contact

# Roles that see every meeting and every grid (read-only for the leader).
SEE_ALL_MEETINGS = (Role.OFFICE, Role.LEADER, Role.COMMISSIONER)
SEE_ALL_GRIDS = (Role.OFFICE, Role.LEADER)

# At most this many rows in one batch: a meeting's appeals, not a data import.
BATCH_MAX_ROWS = 50


def may_schedule_meeting(user, organiser: Department | None) -> bool:
    """The office for any organiser (None: the office itself); a county government's member
    for that government only."""
    if has_role(user, Role.OFFICE):
        return True
    return (
        organiser is not None
        and organiser.kind == Department.Kind.COUNTY_GOV
        and organiser.pk in department_ids_of(user)
    )


def may_schedule_some_meeting(user) -> bool:
    """Whether the page offers scheduling at all (see county_governments_of for which)."""
    return has_role(user, Role.OFFICE) or bool(county_government_ids_of(user))


def county_government_ids_of(user) -> set[int]:
    ids = department_ids_of(user)
    if not ids:
        return set()
    return set(
        Department.objects.filter(pk__in=ids, kind=Department.Kind.COUNTY_GOV).values_list(
            "pk", flat=True
        )
    )


def may_enter_meeting_appeals(user) -> bool:
    return has_role(user, Role.OFFICE, Role.COMMISSIONER)


def may_read_closing_report(user) -> bool:
    return has_role(user, *SEE_ALL_MEETINGS)


def may_log_contact(user, enterprise: Enterprise, grid_ids: set[int]) -> bool:
    """`grid_ids`: the grids of the enterprise (at most one)."""
    if not has_role(user, Role.COMMISSIONER):
        return False
    if enterprise.commissioner_id == user.pk:
        return True
    return bool(grid_ids & set(user.grids.values_list("pk", flat=True)))


def may_raise_from_contact(user, contact: Contact) -> bool:
    return has_role(user, Role.COMMISSIONER) and contact.commissioner_id == user.pk


def may_see_grids(user) -> bool:
    return has_role(user, *SEE_ALL_GRIDS, Role.COMMISSIONER)


# --- When --------------------------------------------------------------------------------


def check_raise_from_contact(contact: Contact) -> None:
    if contact.appeal_id is not None:
        raise ServiceConflict(
            "already_raised",
            _("这次对接已形成诉求（%(n)s），不能重复提交。") % {"n": contact.appeal.number},
        )


def check_closing_report(meeting_open_count: int, meeting_count: int) -> None:
    if meeting_count == 0:
        raise ServiceConflict("no_appeals", _("本次会议尚未录入诉求。"))
    if meeting_open_count:
        raise ServiceConflict(
            "not_all_closed",
            _("还有 %(n)d 件诉求未办结，全部办结后才能生成办结报告。") % {"n": meeting_open_count},
        )
