from django.urls import path

from appeals.views import public, search, staff

urlpatterns = [
    # Public and enterprise pages
    path("", public.home, name="home"),
    path("file/", public.appeal_file, name="appeal_file"),
    path("file/check/", public.appeal_file_check, name="appeal_file_check"),
    path("file/receipt/", public.appeal_receipt, name="appeal_receipt"),
    path("track/", public.track, name="track"),
    path("track/<str:number>/", public.track_detail, name="track_detail"),
    path("track/<str:number>/rate/", public.track_rate, name="track_rate"),
    path("track/<str:number>/material/", public.track_material, name="track_material"),
    path("notifications/", public.notification_list, name="notifications"),
    path("my/", public.my_appeal_list, name="my_appeals"),
    path(
        "appeals/<str:number>/attachments/<int:attachment_id>/",
        public.attachment_download,
        name="attachment_download",
    ),
    # Staff pages
    path("triage/", staff.triage_queue_view, name="triage_queue"),
    path("search/", search.appeal_search_view, name="appeal_search"),
    path("inbox/", staff.inbox_view, name="inbox"),
    path("reviews/", staff.review_queue_view, name="review_queue"),
    path("staff/file/", staff.staff_file_view, name="staff_file"),
    path("appeals/<str:number>/", staff.appeal_detail_view, name="appeal_detail"),
    path("appeals/<str:number>/contact/", staff.contact_reveal_view, name="contact_reveal"),
    path("appeals/<str:number>/route-form/", staff.route_form_partial, name="route_form"),
    path("appeals/<str:number>/route/", staff.appeal_route_view, name="appeal_route"),
    path("appeals/<str:number>/decline/", staff.appeal_decline_view, name="appeal_decline"),
    path("appeals/<str:number>/merge/", staff.appeal_merge_view, name="appeal_merge"),
    path("appeals/<str:number>/close/", staff.appeal_close_view, name="appeal_close"),
    path("appeals/<str:number>/follow-up/", staff.followup_record_view, name="followup_record"),
    path("appeals/<str:number>/blocked/", staff.appeal_block_view, name="appeal_block"),
    path("appeals/<str:number>/publicise/", staff.appeal_publicise_view, name="appeal_publicise"),
    path(
        "appeals/<str:number>/assignments/<int:assignment_id>/material/",
        staff.material_request_view,
        name="material_request",
    ),
    path(
        "appeals/<str:number>/assignments/<int:assignment_id>/extension/",
        staff.extension_request_view,
        name="extension_request",
    ),
    path(
        "appeals/<str:number>/extensions/<int:extension_id>/decide/",
        staff.extension_decide_view,
        name="extension_decide",
    ),
    path(
        "appeals/<str:number>/assignments/<int:assignment_id>/sign/",
        staff.assignment_sign_view,
        name="assignment_sign",
    ),
    path(
        "appeals/<str:number>/assignments/<int:assignment_id>/return/",
        staff.assignment_return_view,
        name="assignment_return",
    ),
    path(
        "appeals/<str:number>/assignments/<int:assignment_id>/opinion/",
        staff.opinion_submit_view,
        name="opinion_submit",
    ),
    path(
        "appeals/<str:number>/assignments/<int:assignment_id>/reply/",
        staff.reply_submit_view,
        name="reply_submit",
    ),
    path(
        "appeals/<str:number>/replies/<int:reply_id>/model-answer/",
        staff.reply_model_answer_view,
        name="reply_model_answer",
    ),
    path(
        "appeals/<str:number>/replies/<int:reply_id>/review/",
        staff.reply_review_view,
        name="reply_review",
    ),
]
