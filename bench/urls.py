from django.urls import path

from bench import views

app_name = "bench"

urlpatterns = [
    path("", views.bare_page, name="bare_page"),
    path("insert/", views.bare_insert, name="bare_insert"),
]
