"""Every write to an appeal goes through one of these functions (see STYLE.md, "Writes")."""

from appeals.services.closing import appeal_close, appeal_rate, followup_record
from appeals.services.contact import Contact, contact_reveal
from appeals.services.filing import (
    FiledAppeal,
    appeal_file,
    appeal_file_idempotent,
    attachment_check,
    attachment_name,
    idempotency_purge,
)
from appeals.services.handling import (
    assignment_return,
    assignment_sign,
    opinion_submit,
    reply_review,
    reply_submit,
)
from appeals.services.model_answers import reply_mark_model_answer
from appeals.services.triage import appeal_decline, appeal_merge, appeal_route
from appeals.services.waiting import (
    appeal_colour_set,
    appeal_flag_blocked,
    appeal_publicise,
    appeal_rating_lapse,
    appeal_request_material,
    appeal_supply_material,
    appeals_colour_set_many,
    event_record,
    events_record_many,
    extension_decide,
    extension_request,
)

__all__ = [
    "Contact",
    "FiledAppeal",
    "appeal_close",
    "appeal_colour_set",
    "appeal_decline",
    "appeal_file",
    "appeal_file_idempotent",
    "appeal_flag_blocked",
    "appeal_merge",
    "appeal_publicise",
    "appeal_rate",
    "appeal_rating_lapse",
    "appeal_request_material",
    "appeal_route",
    "appeal_supply_material",
    "appeals_colour_set_many",
    "assignment_return",
    "assignment_sign",
    "attachment_check",
    "attachment_name",
    "contact_reveal",
    "event_record",
    "events_record_many",
    "extension_decide",
    "extension_request",
    "followup_record",
    "idempotency_purge",
    "opinion_submit",
    "reply_mark_model_answer",
    "reply_review",
    "reply_submit",
]
