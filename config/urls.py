import os

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from appeals.apis import inbox as inbox_apis
from appeals.apis import public as appeal_public_apis
from appeals.apis import search as appeal_search_apis
from appeals.apis import sms as appeal_sms_apis
from appeals.apis import staff as appeal_staff_apis
from config.health import healthz
from departments import apis as department_apis
from departments import password_reset
from engagement import apis as engagement_apis
from leads import apis as lead_apis
from reports import apis as report_apis
from sla import apis as sla_apis

handler400 = "config.views.bad_request"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"

A = appeal_staff_apis
api_v1 = [
    # Enterprise side
    path("appeals/", appeal_public_apis.AppealFileApi.as_view(), name="api_appeal_file"),
    path("track/", appeal_public_apis.TrackApi.as_view(), name="api_track"),
    # The SMS gateway's callback (replies such as TD)
    path("sms/inbound/", appeal_sms_apis.SmsInboundApi.as_view(), name="api_sms_inbound"),
    path("track/rate/", appeal_public_apis.TrackRateApi.as_view(), name="api_track_rate"),
    path(
        "track/material/", appeal_public_apis.TrackMaterialApi.as_view(), name="api_track_material"
    ),
    path("my/appeals/", appeal_public_apis.MyAppealListApi.as_view(), name="api_my_appeals"),
    path(
        "my/appeals/<str:number>/",
        appeal_public_apis.MyAppealDetailApi.as_view(),
        name="api_my_appeal",
    ),
    path(
        "my/appeals/<str:number>/rate/",
        appeal_public_apis.MyAppealRateApi.as_view(),
        name="api_my_appeal_rate",
    ),
    path(
        "my/appeals/<str:number>/material/",
        appeal_public_apis.MyAppealMaterialApi.as_view(),
        name="api_my_appeal_material",
    ),
    # Staff side
    path("appeal-list/", A.AppealListApi.as_view(), name="api_appeal_list"),
    path("triage/", A.TriageQueueApi.as_view(), name="api_triage"),
    path("search/", appeal_search_apis.AppealSearchApi.as_view(), name="api_search"),
    path("inbox/", A.InboxApi.as_view(), name="api_inbox"),
    path("reviews/", A.ReviewQueueApi.as_view(), name="api_reviews"),
    path("appeals/<str:number>/", A.AppealDetailApi.as_view(), name="api_appeal"),
    path("appeals/<str:number>/contact/", A.ContactRevealApi.as_view(), name="api_contact"),
    path("appeals/<str:number>/route/", A.RouteApi.as_view(), name="api_route"),
    path("appeals/<str:number>/decline/", A.DeclineApi.as_view(), name="api_decline"),
    path("appeals/<str:number>/merge/", A.MergeApi.as_view(), name="api_merge"),
    path("appeals/<str:number>/close/", A.CloseApi.as_view(), name="api_close"),
    path("appeals/<str:number>/follow-up/", A.FollowUpApi.as_view(), name="api_follow_up"),
    path("appeals/<str:number>/blocked/", A.BlockApi.as_view(), name="api_blocked"),
    path("appeals/<str:number>/publicise/", A.PubliciseApi.as_view(), name="api_publicise"),
    path(
        "appeals/<str:number>/assignments/<int:assignment_id>/sign/",
        A.SignApi.as_view(),
        name="api_sign",
    ),
    path(
        "appeals/<str:number>/assignments/<int:assignment_id>/return/",
        A.ReturnApi.as_view(),
        name="api_return",
    ),
    path(
        "appeals/<str:number>/assignments/<int:assignment_id>/opinion/",
        A.OpinionApi.as_view(),
        name="api_opinion",
    ),
    path(
        "appeals/<str:number>/assignments/<int:assignment_id>/reply/",
        A.ReplyApi.as_view(),
        name="api_reply",
    ),
    path(
        "appeals/<str:number>/assignments/<int:assignment_id>/material-request/",
        A.MaterialRequestApi.as_view(),
        name="api_material_request",
    ),
    path(
        "appeals/<str:number>/assignments/<int:assignment_id>/extension/",
        A.ExtensionRequestApi.as_view(),
        name="api_extension_request",
    ),
    path(
        "appeals/<str:number>/replies/<int:reply_id>/review/",
        A.ReviewApi.as_view(),
        name="api_review",
    ),
    path(
        "appeals/<str:number>/extensions/<int:extension_id>/decide/",
        A.ExtensionDecideApi.as_view(),
        name="api_extension_decide",
    ),
    # Observers' leads
    path("leads/", lead_apis.LeadListApi.as_view(), name="api_leads"),
    path("leads/<int:pk>/", lead_apis.LeadDetailApi.as_view(), name="api_lead"),
    # Reference data
    path("categories/", department_apis.CategoryListApi.as_view(), name="api_categories"),
    path("regions/", department_apis.RegionListApi.as_view(), name="api_regions"),
    path("departments/", department_apis.DepartmentListApi.as_view(), name="api_departments"),
    path("calendar/<int:year>/", sla_apis.CalendarYearApi.as_view(), name="api_calendar"),
    # The office's reads
    path("board/", report_apis.BoardApi.as_view(), name="api_board"),
    path("board/trend/", report_apis.BoardTrendApi.as_view(), name="api_board_trend"),
    path("league/<str:quarter>/", report_apis.LeagueApi.as_view(), name="api_league"),
    path("bulletin/<str:period>/", report_apis.BulletinApi.as_view(), name="api_bulletin"),
    path("assessment/<str:period>/", report_apis.AssessmentApi.as_view(), name="api_assessment"),
    path("exports/", report_apis.ExportJobStartApi.as_view(), name="api_export_start"),
    path("exports/<int:pk>/", report_apis.ExportJobApi.as_view(), name="api_export"),
    path("exports/<int:pk>/file/", report_apis.ExportJobFileApi.as_view(), name="api_export_file"),
    # Meetings and coverage (engagement)
    path("meetings/", engagement_apis.MeetingListApi.as_view(), name="api_meetings"),
    path("meetings/<int:pk>/", engagement_apis.MeetingDetailApi.as_view(), name="api_meeting"),
    path("coverage/", engagement_apis.CoverageApi.as_view(), name="api_coverage"),
    path("extensions/", inbox_apis.ExtensionQueueApi.as_view(), name="api_extensions"),
    path("notifications/", inbox_apis.NotificationListApi.as_view(), name="api_notifications"),
    path(
        "notifications/read/",
        inbox_apis.NotificationReadApi.as_view(),
        name="api_notifications_read",
    ),
    path(
        "league/<str:quarter>/publish/",
        report_apis.LeaguePublishApi.as_view(),
        name="api_league_publish",
    ),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # Password reset throttled and audited (departments/password_reset.py); Django's other
    # account pages as they are.
    path(
        "accounts/password_reset/",
        password_reset.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        password_reset.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/two-factor/", include("departments.two_factor.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "api/docs/",
        # The split view loads its start-up script from a URL, not inline (our CSP allows no
        # inline script); Swagger UI's page does carry a small inline <style>.
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api_schema")
        ),
        name="api_docs",
    ),
    path("", include("departments.urls")),
    path("", include("reports.urls")),
    path("", include("leads.urls")),
    path("", include("engagement.urls")),
    path("", include("appeals.urls")),
]

# The benchmarks' floor views (bench/floor.py), only on a server bench/suite.py starts.
if os.environ.get("BENCH_FLOOR") == "1":
    urlpatterns.insert(0, path("bench/floor/", include("bench.floor")))
