from django.urls import path

from reports.views import assessment, bulletin, dashboard, exports, kiosk, league

urlpatterns = [
    path("board/", dashboard.dashboard_view, name="dashboard"),
    path("board/appeals/", dashboard.board_appeal_list, name="board_appeals"),
    path("board/lobby/", dashboard.lobby_view, name="lobby"),
    path("board/lobby/data/", dashboard.lobby_data, name="lobby_data"),
    path("board/kiosks/", kiosk.kiosk_list, name="kiosk_list"),
    path("board/kiosks/<int:pk>/revoke/", kiosk.kiosk_revoke, name="kiosk_revoke"),
    # A lobby screen's own link: no session, the board only (reports.kiosk).
    path("kiosk/<str:token>/", kiosk.kiosk_board, name="kiosk_board"),
    path("kiosk/<str:token>/data/", kiosk.kiosk_data, name="kiosk_data"),
    path("board/league/", league.league_view, name="league"),
    path("board/league/publish/", league.league_publish_view, name="league_publish"),
    path("board/exports/", exports.export_page, name="exports"),
    path("board/exports/<str:kind>.<str:fmt>", exports.export_download, name="export_download"),
    path("board/exports/jobs/<int:pk>/", exports.export_job_page, name="export_job"),
    path(
        "board/exports/jobs/<int:pk>/progress/",
        exports.export_job_progress,
        name="export_job_progress",
    ),
    path("board/exports/jobs/<int:pk>/file/", exports.export_job_file, name="export_job_file"),
    path("board/bulletin/", bulletin.bulletin_view, name="bulletin"),
    path("board/bulletin.xlsx", bulletin.bulletin_xlsx, name="bulletin_xlsx"),
    path("board/assessment/", assessment.assessment_view, name="assessment"),
    path("board/assessment/scheme/", assessment.assessment_scheme_view, name="assessment_scheme"),
    path(
        "board/assessment/<str:quarter>/",
        assessment.assessment_quarter_view,
        name="assessment_quarter",
    ),
    path(
        "board/assessment/<str:quarter>/publish/",
        assessment.assessment_publish_view,
        name="assessment_publish",
    ),
    path(
        "board/assessment/<str:quarter>/accountability.xlsx",
        assessment.accountability_xlsx,
        name="assessment_accountability",
    ),
    path("public/", league.public_board, name="public_board"),
]
