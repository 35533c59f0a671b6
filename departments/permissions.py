"""The admin permissions of the office group: it configures the organisation, categories,
routing, SLA policies, the escalation ladder and the working calendar, and reads the rest.

Nothing of django.contrib.auth (users, groups, permissions) and no API tokens: with
auth.change_user the office could make itself superuser or set anyone's password. It manages
staff on its own pages (departments.views), through departments.services."""

from django.contrib.auth.models import Group, Permission

from departments.roles import Role

# app label → models the office may add, change and delete (everything else: view only).
OFFICE_EDITS = {
    "departments": ["region", "department", "membership", "category", "routingrule"],
    "appeals": ["enterprise", "enterprisetag"],
    "sla": ["policy", "escalationstep", "calendaroverride", "calendaryear"],
}
OFFICE_VIEWS = {
    "appeals": ["appeal", "extensionrequest", "notification"],
    "sla": ["clock"],
    "departments": ["auditrecord"],
}
# A staff member who lost the phone and the recovery codes: the office deletes their
# authenticator and recovery codes, and they enrol again at their next login.
# A number that unsubscribed from the step SMS (TD) and asks to be told again: the office
# deletes its opt-out (the row's history keeps both).
OFFICE_RESETS = {
    "otp_totp": ["totpdevice"],
    "otp_static": ["staticdevice"],
    "appeals": ["smsoptout"],
}


def office_permissions_sync(**kwargs) -> None:
    """Give the office group exactly these permissions (run after every migrate)."""
    group, _ = Group.objects.get_or_create(name=Role.OFFICE.value)
    wanted = []
    for app, models in OFFICE_EDITS.items():
        for action in ("add", "change", "delete", "view"):
            wanted += [(app, f"{action}_{m}") for m in models]
    for app, models in OFFICE_VIEWS.items():
        wanted += [(app, f"view_{m}") for m in models]
    for app, models in OFFICE_RESETS.items():
        wanted += [(app, f"{action}_{m}") for m in models for action in ("view", "delete")]
    permissions = [
        p
        for p in Permission.objects.select_related("content_type")
        if (p.content_type.app_label, p.codename) in set(wanted)
    ]
    group.permissions.set(permissions)
