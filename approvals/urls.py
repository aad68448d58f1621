from django.urls import path

from approvals import rule_views, training_views, views

app_name = "approvals"

urlpatterns = [
    path("approvals/", views.requests_list, name="requests"),
    path("approvals/requests/<int:pk>/", views.request_detail, name="request"),
    path("approvals/requests/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("approvals/requests/<int:pk>/submit/", views.request_submit, name="request_submit"),
    path("approvals/requests/<int:pk>/withdraw/", views.request_withdraw, name="request_withdraw"),
    path("approvals/requests/<int:pk>/decide/", views.request_decide, name="request_decide"),
    path("approvals/training/", training_views.training, name="training"),
    path("approvals/training/<int:pk>/evidence/", training_views.training_evidence, name="training_evidence"),
    path("approvals/training/<int:pk>/verify/", training_views.training_verify, name="training_verify"),
    path("approvals/accounts/<int:pk>/", views.account_detail, name="account"),
    path("approvals/accounts/<int:pk>/checklist/", views.account_checklist, name="account_checklist"),
    path("approvals/accounts/<int:pk>/credentials/", views.account_credentials, name="account_credentials"),
    path("approvals/accounts/<int:pk>/credentials/reveal/", views.account_reveal, name="account_reveal"),
    path("approvals/accounts/<int:pk>/check/", views.account_check, name="account_check"),
    path("approvals/accounts/<int:pk>/handover/", views.account_handover, name="account_handover"),
    path("approvals/accounts/<int:pk>/close/", views.account_close, name="account_close"),
    path("approvals/accounts/<int:pk>/team/", views.account_team, name="account_team"),
    path("approvals/accounts/<int:pk>/log/", views.account_log, name="log"),
    path("approvals/accounts/<int:pk>/intake-secret/", views.account_intake_rotate, name="account_intake_rotate"),
    path("approvals/items/<int:pk>/answer/", views.item_answer, name="item_answer"),
    path("approvals/intake/<int:pk>/", views.intake, name="intake"),
    path("organisations/<slug:slug>/requests/new/", views.request_create, name="request_create"),
    path("organisations/<slug:slug>/accounts/", views.register, name="register"),
    path("organisations/<slug:slug>/approval-rules/", rule_views.approval_rules, name="approval_rules"),
]
