from django.urls import path

from incidents import file_views, public_views, task_views, views

app_name = "incidents"

urlpatterns = [
    path("incidents/report/", views.report, name="report"),
    path("incidents/mine/", views.my_reports, name="my_reports"),
    path("incidents/mine/<int:pk>/", views.my_report, name="my_report"),
    path("incidents/<int:pk>/", views.detail, name="detail"),
    path("incidents/<int:pk>/submitted/", views.submitted, name="submitted"),
    path("incidents/<int:pk>/evidence/", views.add_evidence, name="add_evidence"),
    path("incidents/<int:pk>/triage/", views.triage, name="triage"),
    path("incidents/<int:pk>/threshold/", views.decide_threshold, name="decide_threshold"),
    path("incidents/<int:pk>/actions/", views.add_action, name="add_action"),
    path("incidents/<int:pk>/addenda/", views.add_addendum, name="add_addendum"),
    path("incidents/<int:pk>/status/", views.move_status, name="move_status"),
    path("incidents/<int:pk>/close/", views.close, name="close"),
    path("incidents/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("incidents/<int:pk>/breach/", views.record_breach, name="record_breach"),
    path("incidents/<int:pk>/legal-hold/", views.legal_hold, name="legal_hold"),
    path("incidents/<int:pk>/retention/", views.retention_review, name="retention_review"),
    path("incidents/<int:pk>/tasks/", task_views.add_task, name="add_task"),
    path("incidents/<int:pk>/takedowns/", task_views.add_takedown, name="add_takedown"),
    path("incidents/tasks/<int:pk>/", task_views.task, name="task"),
    path("incidents/tasks/<int:pk>/finish/", task_views.finish_task, name="finish_task"),
    path("incidents/tasks/<int:pk>/owner/", task_views.reassign_task, name="reassign_task"),
    path("incidents/takedowns/<int:pk>/removed/", task_views.takedown_removed, name="takedown_removed"),
    path("incidents/<int:pk>/chronology.csv", file_views.export_csv, name="export_csv"),
    path("incidents/<int:pk>/chronology.pdf", file_views.export_pdf, name="export_pdf"),
    path("incidents/evidence/<int:pk>/", file_views.evidence_file, name="evidence"),
    path("organisations/<slug:slug>/incidents/", views.incident_list, name="list"),
    path("organisations/<slug:slug>/incidents/dashboard/", views.dashboard, name="incident_dashboard"),
    path(
        "organisations/<slug:slug>/incidents/dashboard/figures.csv",
        file_views.trust_figures_csv,
        name="trust_figures_csv",
    ),
    path("organisations/<slug:slug>/incidents/records/", views.records, name="records"),
    path("report/<slug:slug>/", public_views.public_report, name="public_report"),
    path("report/<slug:slug>/thanks/", public_views.public_thanks, name="public_thanks"),
    # After the thanks page: an organisation whose slug is "status" keeps its own (a token is never "thanks").
    path("report/status/<str:token>/", public_views.public_status, name="public_status"),
]
