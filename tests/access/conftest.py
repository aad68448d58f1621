"""One school world for the access matrix, built once per module and rolled back at the end.

Oak Trust has two member schools, Oak Primary ("school A") and Ash Academy ("school B");
Elm Trust is another trust with one school. Everyone who appears in the matrix holds one
role in school A unless their name says otherwise (see ``PEOPLE``), and signs in as a
real person with two-factor sign-in would: an authenticator app on their account and a
session that records the password and the second factor (the organisations keep the
factory's ``require_mfa=True``). The objects are the ones the portal's pages act on:
policies and versions, account requests, an official account with its team, incidents.

Each cell of the matrix runs inside a savepoint that is rolled back, with the browser's
cookies put back as they were, so every cell starts from this same world.
"""

import datetime as dt
import time
from types import SimpleNamespace

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Membership, OrganisationKind, Role, StaffType
from approvals.approval_rules import Rule, set_approval_rules
from approvals.models import (
    AccountMember,
    AccountRequest,
    AccountRole,
    AccountStatus,
    OfficialAccount,
    RequestKind,
    TrainingRecord,
)
from approvals.register import store_credentials
from approvals.responses import log_item
from approvals.training import record_training
from core.workingdays import next_working_day
from incidents import casework
from incidents import services as incident_services
from incidents.models import Category, IncidentAction, Outcome
from incidents.public_reports import report_publicly
from policies import services as policy_services
from policies.assisted import open_requests_of, record_assisted_acknowledgement
from tests.approvals.conftest import BUSINESS_CASE, draft_request, submitted_request
from tests.factories import OrganisationFactory, UserFactory, member
from tests.incidents.conftest import SHOWN, report, triaged, upload

# A minimal document that passes the portal's PDF check (as tests/policies/test_rendering.py).
MINIMAL_PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

# Who the columns of the matrix are: (key, who they are in the world).
PEOPLE = {
    "an": "anonymous: nobody signed in",
    "st": "staff member of school A (no other role) who requested the two account requests; line manager lm",
    "lm": "line manager in school A",
    "sl": "SLT member of school A",
    "ld": "organisation lead (head teacher) of school A",
    "ds": "DSL of school A; the subject of the allegation routed to the lead",
    "dp": "deputy DSL of school A",
    "ad": "organisation administrator of school A",
    "po": "policy owner in school A, owner of the Social Media Policy",
    "os": "online safety coordinator of school A",
    "aa": "staff member of school A, administrator (and lead) of the official account",
    "am": "volunteer in school A, moderator of the official account, with a training record to verify",
    "lv": "leaver: was the DSL of school A, membership ended yesterday",
    "bd": "DSL of school B (same trust)",
    "td": "DSL at trust level (Oak Trust)",
    "nm": "SLT member and DSL of school A, named (as affected) in every school-A incident",
    "rp": "staff member of school A who reported the school-A incidents",
    "ot": "SLT, lead, DSL, administrator and policy owner of Elm School, in another trust",
    "su": "superuser with a second factor, member of no organisation",
}


def prove_second_factor(client: Client, user) -> None:
    """The session records the password and a second factor proved just now (as allauth records them)."""
    session = client.session
    now = time.time()
    session["account_authentication_methods"] = [
        {"method": "password", "at": now, "email": user.email},
        {"method": "mfa", "at": now, "type": "totp"},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()


def _with_second_factor(client: Client, user) -> None:
    """An authenticator app on the account, signed in with it."""
    TOTP.activate(user, generate_totp_secret())
    client.force_login(user)
    prove_second_factor(client, user)


def _build(media_root) -> SimpleNamespace:
    w = SimpleNamespace()
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)

    # Organisations
    w.trust = OrganisationFactory(name="Oak Trust", slug="oak-trust", kind=OrganisationKind.TRUST, parent=None)
    # The lead approves too: the head teacher is a "final approver where the organisation requires it".
    w.school_a = OrganisationFactory(name="Oak Primary", slug="oak-primary", parent=w.trust)
    set_approval_rules(
        organisation=w.school_a,
        actor=None,
        rules={kind: Rule(1, lead_must_approve=True) for kind in RequestKind.values},
    )
    w.school_b = OrganisationFactory(
        name="Ash Academy", slug="ash-academy", parent=w.trust, email_domains="ash.example"
    )
    w.other_trust = OrganisationFactory(
        name="Elm Trust", slug="elm-trust", kind=OrganisationKind.TRUST, parent=None, email_domains="elm.example"
    )
    w.other_school = OrganisationFactory(
        name="Elm School", slug="elm-school", parent=w.other_trust, email_domains="elm.example"
    )
    a = w.school_a

    # People (all of them before anything is published, so publishing asks them to acknowledge)
    p = {}
    p["lm"] = member(a, Role.LINE_MANAGER, email="lm@school.example")
    p["st"] = member(a, email="st@school.example", line_manager=p["lm"])
    p["sl"] = member(a, Role.SLT, email="sl@school.example")
    p["ld"] = member(a, Role.LEAD, email="ld@school.example")
    p["ds"] = member(a, Role.DSL, email="ds@school.example")
    p["dp"] = member(a, Role.DEPUTY_DSL, email="dp@school.example")
    p["ad"] = member(a, Role.ADMIN, email="ad@school.example")
    p["po"] = member(a, Role.POLICY_OWNER, email="po@school.example")
    p["os"] = member(a, Role.ONLINE_SAFETY, email="os@school.example")
    p["aa"] = member(a, email="aa@school.example")
    p["am"] = member(a, email="am@school.example", staff_type=StaffType.VOLUNTEER)
    p["lv"] = member(a, Role.DSL, email="lv@school.example", leaving_date=yesterday)
    p["bd"] = member(w.school_b, Role.DSL, email="bd@ash.example")
    p["td"] = member(w.trust, Role.DSL, email="td@school.example")
    p["nm"] = member(a, Role.SLT, Role.DSL, email="nm@school.example")
    p["rp"] = member(a, email="rp@school.example")
    p["ot"] = member(
        w.other_school, Role.SLT, Role.LEAD, Role.DSL, Role.ADMIN, Role.POLICY_OWNER, email="ot@elm.example"
    )
    p["su"] = UserFactory(email="root@ops.example", is_staff=True, is_superuser=True)
    # Not columns of the matrix: a superuser with a password alone, and people the objects need.
    w.su_pw = UserFactory(email="root2@ops.example", is_staff=True, is_superuser=True)
    w.trust_owner = member(w.trust, Role.POLICY_OWNER, email="trust.owner@school.example")
    w.successor = member(a, email="successor@school.example")
    w.b_staff = member(w.school_b, email="b.staff@ash.example")
    w.people = p

    # Policies: school A's Social Media Policy (v1 published PDF, v2 a draft PDF with a quiz question),
    # and the trust's policy that applies to every member school.
    w.policy = policy_services.create_policy(
        organisation=a, actor=p["po"], title="Social Media Policy", owner=p["po"], is_social_media_policy=True
    )
    w.v1 = policy_services.create_version(
        policy=w.policy,
        actor=p["po"],
        label="1",
        source_format="pdf",
        upload=SimpleUploadedFile("policy.pdf", MINIMAL_PDF, content_type="application/pdf"),
    )
    policy_services.publish_version(version=w.v1, actor=p["po"])
    w.v2 = policy_services.create_version(
        policy=w.policy,
        actor=p["po"],
        label="2",
        source_format="pdf",
        summary_of_changes="New section on livestreams.",
        upload=SimpleUploadedFile("policy-2.pdf", MINIMAL_PDF, content_type="application/pdf"),
    )
    policy_services.add_question(
        version=w.v2, actor=p["po"], prompt="Who approves a new account?", choices=["SLT", "Anyone"], correct_choice=1
    )
    w.question = w.v2.questions.get()
    w.trust_policy = policy_services.create_policy(
        organisation=w.trust, actor=w.trust_owner, title="Acceptable Use Policy", owner=w.trust_owner
    )
    w.t1 = policy_services.create_version(
        policy=w.trust_policy, actor=w.trust_owner, label="1", source_format="markdown", text="# Use\n\nBe kind."
    )
    policy_services.publish_version(version=w.t1, actor=w.trust_owner)
    w.calendar_token = policy_services.new_calendar_link(user=p["po"])

    # Staff records: an invitation waiting to be accepted, an offer to someone in another trust.
    w.invitee_membership = account_services.invite_person(
        organisation=a, email="invitee@school.example", first_name="Ina", last_name="Vitee", actor=p["ad"]
    )
    w.invitee = w.invitee_membership.user
    w.invitation_path = account_services.invitation_path(w.invitee)
    w.offer = account_services.offer_place(organisation=a, user=p["ot"], actor=p["ad"])
    w.offer_token = account_services.offer_token(w.offer)
    w.membership_st = Membership.objects.get(user=p["st"], organisation=a)
    w.membership_ad = Membership.objects.get(user=p["ad"], organisation=a)
    # Staff without an email (seed 000 §2, 002 §3): a cleaner in lm's team, whose acknowledgement of v1
    # lm recorded from a signed sheet; the trust's policy is still to acknowledge.
    w.cleaner_membership = account_services.add_person_without_email(
        organisation=a, actor=p["ad"], first_name="Cal", last_name="Leaner", job_title="Cleaner", line_manager=p["lm"]
    )
    open_for_cleaner = {r.version_id: r for r in open_requests_of(w.cleaner_membership)}
    [w.signed_ack] = record_assisted_acknowledgement(
        actor=p["lm"],
        membership=w.cleaner_membership,
        request_ids=[open_for_cleaner[w.v1.pk].pk],
        method="paper",
        made_on=today,
        signed_sheet=SimpleUploadedFile("sheet.pdf", MINIMAL_PDF, content_type="application/pdf"),
    )
    w.cleaner_t1_request = open_for_cleaner[w.t1.pk]

    # Approvals: two requests by st (a draft, and one submitted), and an active official account
    # run by aa (administrator) and am (moderator), with stored sign-in details and an item to answer.
    w.draft_request = draft_request(a, p["st"], [p["st"]], proposed_name="Oak Primary Sport")
    w.submitted_request = submitted_request(a, p["st"], [p["st"]], proposed_name="Oak Primary Music")
    approved = AccountRequest.objects.create(
        organisation=a, requester=p["aa"], status="approved", **{**BUSINESS_CASE, "proposed_name": "Oak Primary News"}
    )
    w.account = OfficialAccount.objects.create(
        request=approved,
        organisation=a,
        name="Oak Primary News",
        platform="facebook",
        official_email="news@school.example",
        lead=p["aa"],
        status=AccountStatus.ACTIVE,
        activated_at=timezone.now(),
    )
    AccountMember.objects.create(account=w.account, user=p["aa"], role=AccountRole.ADMINISTRATOR)
    AccountMember.objects.create(account=w.account, user=p["am"], role=AccountRole.MODERATOR)
    store_credentials(account=w.account, actor=p["aa"], secret="user: oaknews\npassword: x")
    w.item, _ = log_item(
        account=w.account,
        actor=p["am"],
        kind="comment",
        received_at=timezone.now() - dt.timedelta(hours=1),
        summary="A parent asks when sports day is.",
    )
    w.training = record_training(
        user=p["am"],
        actor=p["am"],
        course="Social media for school staff",
        completed_on=today - dt.timedelta(days=30),
        expires_on=today + dt.timedelta(days=700),
        evidence=SimpleUploadedFile("certificate.pdf", MINIMAL_PDF, content_type="application/pdf"),
    )
    # The successor can take the account over: acknowledged and trained (seed 001 §4).
    policy_services.acknowledge(user=w.successor, version=w.v1)
    TrainingRecord.objects.create(
        user=w.successor,
        course="Social media for school staff",
        completed_on=today - dt.timedelta(days=30),
        expires_on=today + dt.timedelta(days=700),
        recorded_by=p["ad"],
        verified_by=p["ad"],
        verified_at=timezone.now(),
    )

    # Incidents in school A, all reported by rp, naming nm: safeguarding (S), not safeguarding (N),
    # an allegation about the DSL routed to the lead (R), and a closed one due for its retention review (C).
    def evidence():
        return [(upload(), SHOWN)]

    w.s = report(a, p["rp"], Category.PUPIL_CONTACT, files=evidence(), affected=[p["nm"]])
    w.n = report(a, p["rp"], Category.UNOFFICIAL_ACCOUNT, files=evidence(), affected=[p["nm"]])
    w.r = report(a, p["rp"], Category.STAFF_BREACH, files=evidence(), subjects=[p["ds"]], affected=[p["nm"]])
    w.c = report(a, p["rp"], Category.UNOFFICIAL_ACCOUNT, affected=[p["nm"]])
    # A concern about a member of staff (st), not safeguarding: SLT see the case, not its harm-threshold step (A).
    w.a = report(a, p["rp"], Category.STAFF_BREACH, subjects=[p["st"]], affected=[p["nm"]])
    assert w.s.is_safeguarding and not w.n.is_safeguarding and w.r.routed_to_lead and not w.s.routed_to_lead
    triaged(w.s, p["ds"])
    triaged(w.n, p["ds"], safeguarding=False)
    triaged(w.r, p["ld"], safeguarding=False)
    triaged(w.c, p["ds"], safeguarding=False)
    triaged(w.a, p["ds"], safeguarding=False)
    incident_services.close_incident(incident=w.c, actor=p["ds"], outcome=Outcome.RESOLVED, reason="Taken down.")
    type(w.c).objects.filter(pk=w.c.pk).update(retention_review_on=yesterday)
    # A case (K) with a task owned by the line manager, who does not handle the case, and a takedown on it.
    w.t = triaged(report(a, p["rp"], Category.UNOFFICIAL_ACCOUNT, affected=[p["nm"]]), p["ds"], safeguarding=False)
    w.t_task = casework.add_task(
        incident=w.t,
        actor=p["ds"],
        kind="staff_support",
        title="Offer support to the member of staff",
        owner=p["lm"],
        due_on=next_working_day(today, a.nation),
    )
    w.t_takedown = casework.record_takedown(
        incident=w.t,
        actor=p["ds"],
        platform="facebook",
        target="https://facebook.example/fake-oak",
        reported_at=timezone.now() - dt.timedelta(hours=3),
        how_reported="report_tool",
    )
    w.s_evidence = w.s.evidence.get()
    w.r_evidence = w.r.evidence.get()
    w.s_triage_entry = IncidentAction.objects.get(incident=w.s, kind="triage")
    # A concern sent through school A's public page, with its private status link (seed 004 §8.4-8.5).
    w.public_incident, w.public_token = report_publicly(
        organisation=a,
        category=Category.UNOFFICIAL_ACCOUNT,
        occurred_at=timezone.now() - dt.timedelta(days=1),
        description="An account uses the school badge.",
        public_reporter="parent",
        email="parent@home.example",
    )
    # A safeguarding incident in school B, reported by one of its staff.
    w.b_incident = report(w.school_b, w.b_staff, Category.PUPIL_CONTACT, files=evidence())
    triaged(w.b_incident, p["bd"])

    # Browsers: one per column, signed in (with a second factor) except the anonymous one.
    w.clients = {"an": Client()}
    for key, user in p.items():
        w.clients[key] = Client()
        _with_second_factor(w.clients[key], user)
    w.su_pw_client = Client()
    w.su_pw_client.force_login(w.su_pw)
    w.media_root = media_root
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, in a transaction rolled back when the module is done (nothing leaks into other tests)."""
    media_root = tmp_path_factory.mktemp("matrix-private")
    overrides = override_settings(
        MEDIA_ROOT=media_root,
        PRIVATE_MEDIA_ROOT=media_root,
        CREDENTIALS_ENCRYPTION_KEYS=[Fernet.generate_key().decode()],
        CREDENTIALS_ENCRYPTION_KEY=None,
    )
    overrides.enable()
    try:
        with django_db_blocker.unblock():
            with transaction.atomic():
                yield _build(media_root)
                transaction.set_rollback(True)
    finally:
        overrides.disable()
