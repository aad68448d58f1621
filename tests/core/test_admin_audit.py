"""Every change made in the Django admin writes the portal's audit trail (issue 10)."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory

from accounts.models import Membership
from core.adminsite import AuditedAdminMixin, PortalAdminSite
from core.models import AuditEntry
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

ADMIN = f"/{settings.ADMIN_URL}"


@pytest.fixture
def superuser(db):
    user = UserFactory(email="root@school.example", is_superuser=True, is_staff=True)
    TOTP.activate(user, generate_totp_secret())  # superusers sign in with a second factor
    assert Authenticator.objects.filter(user=user).exists()
    return user


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_every_registered_model_admin_is_audited():
    assert isinstance(admin.site, PortalAdminSite)
    assert admin.site._registry, "nothing registered"
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, AuditedAdminMixin), model._meta.label


def test_deleting_a_membership_in_the_admin_names_the_actor_the_object_and_the_action(admin_client, superuser, school):
    leaver = member(school, email="leaver@school.example")
    membership = Membership.objects.get(user=leaver)
    name, pk = str(membership), membership.pk
    response = admin_client.post(f"{ADMIN}accounts/membership/{pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Membership.objects.filter(pk=pk).exists()
    [entry] = entries("admin.deleted")
    assert entry.actor == superuser and entry.organisation == school
    assert entry.content_type == ContentType.objects.get_for_model(Membership)
    assert (entry.object_id, entry.object_repr) == (str(pk), name)
    assert entry.details == {"via": "the Django admin"} and entry.ip_address == "127.0.0.1"
    assert LogEntry.objects.filter(action_flag=DELETION, object_id=str(pk)).exists()  # Django's history too


def test_a_bulk_delete_in_the_admin_audits_each_row(admin_client, superuser, school):
    people = [member(school, email=f"leaver{n}@school.example") for n in range(2)]
    pks = sorted(Membership.objects.filter(user__in=people).values_list("pk", flat=True))
    response = admin_client.post(
        f"{ADMIN}accounts/membership/", {"action": "delete_selected", "_selected_action": pks, "post": "yes"}
    )
    assert response.status_code == 302 and not Membership.objects.filter(pk__in=pks).exists()
    deleted = entries("admin.deleted")
    assert sorted(int(e.object_id) for e in deleted) == pks
    assert {e.actor for e in deleted} == {superuser}


def test_adding_and_changing_in_the_admin_are_audited_with_what_changed(admin_client, superuser):
    assert admin_client.post(f"{ADMIN}auth/group/add/", {"name": "Auditors"}).status_code == 302
    group = Group.objects.get(name="Auditors")
    [added] = entries("admin.added")
    assert (added.actor, added.object_id, added.object_repr) == (superuser, str(group.pk), "Auditors")
    assert admin_client.post(f"{ADMIN}auth/group/{group.pk}/change/", {"name": "Reviewers"}).status_code == 302
    [changed] = entries("admin.changed")
    assert changed.object_repr == "Reviewers" and changed.details["via"] == "the Django admin"
    assert changed.details["change"] == [{"changed": {"fields": ["Name"]}}]


def test_a_deletion_the_admin_declines_is_not_recorded_as_one(superuser):
    class KeepsEverything(admin.ModelAdmin):
        def delete_model(self, request, obj):
            pass  # e.g. a record under legal hold

    site = PortalAdminSite(name="test")
    site.register(Group, KeepsEverything)
    group = Group.objects.create(name="Kept")
    request = RequestFactory().post("/")
    request.user = superuser
    site._registry[Group].delete_model(request, group)
    assert Group.objects.filter(pk=group.pk).exists() and entries("admin.deleted") == []
    site._registry[Group].delete_queryset(request, Group.objects.filter(pk=group.pk))
    [entry] = entries("admin.deleted")
    assert entry.object_id == str(group.pk) and entry.object_repr == "Kept"
