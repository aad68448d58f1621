from django.urls import path

from policies import assisted_views, calendar_views, views

app_name = "policies"

urlpatterns = [
    path("policies/", views.my_policies, name="my_policies"),
    path("policies/<int:pk>/", views.read_policy, name="read"),
    path("policies/<int:pk>/manage/", views.manage_policy, name="manage"),
    path("policies/<int:pk>/edit/", views.edit_policy, name="edit"),
    path("policies/<int:pk>/versions/new/", views.create_version, name="create_version"),
    path("policies/<int:pk>/review/", views.review_no_change, name="review"),
    path("policies/<int:pk>/retire/", views.retire, name="retire"),
    path("policies/<int:pk>/evidence.csv", views.evidence_csv, name="evidence_csv"),
    path("policies/<int:pk>/evidence.pdf", views.evidence_pdf, name="evidence_pdf"),
    path("policies/versions/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("policies/versions/<int:pk>/quiz/", views.answer_quiz, name="answer_quiz"),
    path("policies/versions/<int:pk>/ask/", views.ask_owner, name="ask_owner"),
    path("policies/versions/<int:pk>/document/", views.version_document, name="document"),
    path("policies/versions/<int:pk>/edit/", views.edit_version, name="edit_version"),
    path("policies/versions/<int:pk>/preview/", views.preview_version, name="preview_version"),
    path("policies/versions/<int:pk>/publish/", views.publish_version, name="publish_version"),
    path("policies/questions/<int:pk>/delete/", views.delete_question, name="delete_question"),
    path(
        "policies/staff/<int:pk>/record-acknowledgement/",
        assisted_views.record_acknowledgement,
        name="record_acknowledgement",
    ),
    path("policies/acknowledgements/<int:pk>/signed-sheet/", assisted_views.signed_sheet, name="signed_sheet"),
    path("policies/calendar/", calendar_views.calendar_link, name="calendar"),
    path("policies/calendar/new-link/", calendar_views.new_calendar_link, name="new_calendar_link"),
    path("policies/calendar/turn-off/", calendar_views.turn_off_calendar_link, name="turn_off_calendar_link"),
    path("policies/calendar/<str:token>/reviews.ics", calendar_views.review_calendar, name="review_calendar"),
    path("organisations/<slug:slug>/policies/", views.manage_policies, name="manage_list"),
    path("organisations/<slug:slug>/policies/new/", views.create_policy, name="create"),
    path("organisations/<slug:slug>/policies/import/", views.import_policy, name="import"),
    path("organisations/<slug:slug>/compliance/", views.dashboard, name="dashboard"),
    path("organisations/<slug:slug>/compliance/people/", views.people, name="people"),
    path("organisations/<slug:slug>/compliance/export.csv", views.export_csv, name="export_csv"),
]
