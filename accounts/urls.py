from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("invitation/<uidb64>/<token>/", views.accept_invitation, name="accept_invitation"),
    path("offer/<str:token>/", views.offer, name="offer"),
    path("organisations/", views.organisations, name="organisations"),
    path("organisations/<slug:slug>/staff/", views.staff_list, name="staff_list"),
    path("organisations/<slug:slug>/staff/invite/", views.staff_invite, name="staff_invite"),
    path(
        "organisations/<slug:slug>/staff/add-without-email/",
        views.staff_add_without_email,
        name="staff_add_without_email",
    ),
    path("organisations/<slug:slug>/staff/import/", views.staff_import_view, name="staff_import"),
    path("organisations/<slug:slug>/staff/<int:pk>/", views.staff_edit, name="staff_edit"),
    path(
        "organisations/<slug:slug>/staff/<int:pk>/invite/",
        views.staff_resend_invitation,
        name="staff_resend_invitation",
    ),
    path("organisations/<slug:slug>/settings/", views.organisation_settings, name="organisation_settings"),
]
