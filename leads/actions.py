"""Who may do what with a lead, now: the one place that decides it (as appeals.actions does
for appeals). The pages show exactly the actions `lead_actions_for` lists, the API's lead
detail lists them, and the services ask the same rules before they act.

Who sees which lead is decided before this, by selectors.leads_visible_to: the office sees
every lead, an observer their own, nobody else any (404)."""

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ServiceConflict
from departments.roles import Role, has_role
from leads.models import LEAD_TRANSITIONS, Lead


class LeadAction(models.TextChoices):
    TO_APPEAL = "to_appeal", gettext_lazy("转为诉求")
    REFER = "refer", gettext_lazy("移交纪检监察")
    CLOSE = "close", gettext_lazy("核查办结")


# The status each action moves a lead to.
TARGETS = {
    LeadAction.TO_APPEAL: Lead.Status.APPEAL,
    LeadAction.REFER: Lead.Status.REFERRED,
    LeadAction.CLOSE: Lead.Status.CLOSED,
}


def may_file_lead(user) -> bool:
    """File a lead: the supervisors (特约监督员 / 观察员)."""
    return has_role(user, Role.SUPERVISOR)


def may_check_lead(user) -> bool:
    """Check a lead and decide its outcome: the office."""
    return has_role(user, Role.OFFICE)


def check_lead_move(lead: Lead, action: LeadAction) -> None:
    """The transitions table lets the lead take `action` now (once checked, it is done)."""
    if TARGETS[action] not in LEAD_TRANSITIONS[lead.status]:
        raise ServiceConflict(
            "invalid_transition",
            _("当前状态为“%(state)s”，不能执行此操作。") % {"state": lead.get_status_display()},
        )


def lead_actions_for(user, lead: Lead) -> list[LeadAction]:
    if not may_check_lead(user):
        return []
    return [a for a in LeadAction if TARGETS[a] in LEAD_TRANSITIONS[lead.status]]
