"""Reads of leads. One scoping function decides visibility for lists and details alike."""

from django.db.models import Count, QuerySet
from django.http import Http404

from departments.roles import Role, roles_of
from leads.models import Lead


def leads_visible_to(user) -> QuerySet[Lead]:
    """The office sees every lead; an observer only their own; anyone else none. Departments
    never see a lead (nor who filed it)."""
    roles = roles_of(user)
    if Role.OFFICE in roles:
        return Lead.objects.all()
    if Role.SUPERVISOR in roles:
        return Lead.objects.filter(observer=user)
    return Lead.objects.none()


def leads_list(user, *, status: str = "") -> QuerySet[Lead]:
    """The list page and API: department and referral in the same query; the appeal for its
    number and status."""
    leads = leads_visible_to(user).select_related("department", "referral", "appeal")
    if status in Lead.Status.values:
        leads = leads.filter(status=status)
    return leads


def lead_get_visible(user, pk: int) -> Lead:
    """The lead if the user may see it; 404 otherwise, as for a lead that does not exist."""
    lead = leads_list(user).select_related("observer", "checked_by").filter(pk=pk).first()
    if lead is None:
        raise Http404
    return lead


def lead_counts(user) -> dict[str, int]:
    """How many of the visible leads are in each status (checked and solved, seed 003)."""
    counts = dict.fromkeys(Lead.Status.values, 0)
    for row in leads_visible_to(user).values("status").annotate(n=Count("pk")).order_by():
        counts[row["status"]] = row["n"]
    return counts
