"""The access matrix: every person against every page of the portal and every change it makes.

Each expected outcome is written from DESIGN.md ("Who uses it", "Who sees what" and the three
parts) and the seed clauses it cites, never from the code's own permission rules: the table
below is the specification, and a cell that fails is a place where the code and DESIGN.md
disagree. Where DESIGN.md is silent the cell follows the role's row in "Who uses it" (what
that person does here) and the comment says so.

Columns are the people of ``tests/access/conftest.py`` (``PEOPLE`` says who each is):

    an anonymous      st staff member (and the accounts' requester)   lm line manager
    sl SLT            ld organisation lead   ds DSL   dp deputy DSL   ad organisation administrator
    po policy owner   os online safety coordinator   aa the official account's administrator
    am its moderator  lv leaver   bd school B's DSL   td trust-level DSL
    nm named in the incidents (SLT and DSL)   rp the incidents' reporter
    ot member of another trust   su superuser

Outcomes:

    A  allowed: 2xx, or a redirect that is not to a sign-in page. For a POST: not refused
       (a 400 with the form's errors counts), and the change is made where the row says so
       (then a redirect to sign in afterwards, as after setting a first password, counts too).
    D  denied: 403 or 404, and nothing changed. The convention is 404 when the person cannot
       reach the organisation or object at all (its existence is not revealed), 403 when they
       reach it but their role does not allow the action; both count as D here.
    L  sent to sign in (the portal's sign-in page, or the Django admin's), and nothing changed.
    x  refused either way, D or L, and nothing changed: the leaver, whose access ended with
       their membership, and the Django admin's own login page for people who are not staff.
    S  sent to their own report's status page instead of the case file (a reporter).
    R  answered, but refused with a message: the page works, the change is not made.
    M  sent to the second-factor page (allauth's /accounts/2fa/...), and nothing changed.

"Nothing changed" is checked twice: the row's own state (a count, a status, a field) and the
portal's ledger of changes, which every change of state writes to (DESIGN.md "Non-functional":
every change of state is recorded; every email is written to an outbox): audit entries, outbox
messages, work queued for after the commit, emails sent.

Every cell runs in a savepoint that is rolled back, with the browser's cookies put back, so each
starts from the same world; test_every_url_of_the_portal_has_a_row_in_the_matrix fails when a
URL of the portal has no row.
"""

import copy
import datetime as dt
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import Membership, Organisation
from approvals.models import (
    AccountCheck,
    AccountRequest,
    ApprovalRule,
    Decision,
    OfficialAccount,
    ResponseItem,
    StoredCredentials,
    TrainingRecord,
)
from approvals.responses import intake_secret, intake_signature
from core.models import AuditEntry
from incidents.models import (
    CATEGORY_RULES,
    Evidence,
    Incident,
    IncidentAction,
    PolicyBreach,
    RetentionPeriod,
    RetentionReview,
    ThresholdDecision,
)
from policies.models import (
    Acknowledgement,
    CalendarFeed,
    Policy,
    PolicyQuestion,
    PolicyReview,
    PolicyVersion,
    QuizAttempt,
    QuizQuestion,
)
from tests.access.conftest import PEOPLE, prove_second_factor
from tests.approvals.conftest import BUSINESS_CASE
from tests.incidents.conftest import SHOWN, upload

# The world is built once for the module (tests/access/conftest.py); each test's own transaction nests in it.
pytestmark = [
    pytest.mark.django_db,
    # One pytest-xdist worker runs the whole module, so the world (tests/access/conftest.py, module
    # scope, several seconds to build) is built once rather than once on every worker.
    pytest.mark.xdist_group("access-matrix"),
]

COLUMNS = list(PEOPLE)
NEW_PASSWORD = "a-long-and-unusual-passphrase-42"


# Rows
# ------------------------------------------------------------------------------


@dataclass
class Row:
    method: str
    name: str  # the URL's name
    target: str  # which object (a key of TARGETS)
    cells: str  # one outcome per column, in COLUMNS order
    body: Callable | None = None  # (world, column) -> keyword arguments for client.post
    state: Callable | None = None  # (world, column) -> what a refused request must leave as it was
    changes: bool = True  # an allowed POST must change ``state``
    rate_limited: bool = False  # the view counts requests per address: each cell starts with none spent
    second_factor: bool = False  # the view wants a second factor proved in the last few minutes
    query: str = ""  # a query string for the URL
    label: str = ""  # tells two rows of one URL and object apart
    expected: dict = field(init=False)

    def __post_init__(self):
        outcomes = self.cells.split()
        assert len(outcomes) == len(COLUMNS), f"{self.id}: {len(outcomes)} cells for {len(COLUMNS)} columns"
        assert set(outcomes) <= set("ADLxSRM"), f"{self.id}: unknown outcome in {self.cells!r}"
        self.expected = dict(zip(COLUMNS, outcomes, strict=True))

    @property
    def id(self) -> str:
        return f"{self.method} {self.name} [{self.target}]" + "".join(f" {x}" for x in (self.query, self.label) if x)


def GET(name, target, cells, **kwargs) -> Row:
    return Row("GET", name, target, cells, **kwargs)


def POST(name, target, cells, body=None, state=None, **kwargs) -> Row:
    return Row("POST", name, target, cells, body=body, state=state, **kwargs)


# The objects the rows act on, as URL keyword arguments.
TARGETS = {
    "-": lambda w: {},
    "school A": lambda w: {"slug": w.school_a.slug},
    "Oak Trust": lambda w: {"slug": w.trust.slug},
    "st's record": lambda w: {"slug": w.school_a.slug, "pk": w.membership_st.pk},
    "ad's own record": lambda w: {"slug": w.school_a.slug, "pk": w.membership_ad.pk},
    "cleaner's record": lambda w: {"pk": w.cleaner_membership.pk},
    "cleaner's signed sheet": lambda w: {"pk": w.signed_ack.pk},
    "invitee's record": lambda w: {"slug": w.school_a.slug, "pk": w.invitee_membership.pk},
    "invitation": lambda w: dict(zip(("uidb64", "token"), w.invitation_path.strip("/").split("/")[1:], strict=True)),
    "offer to ot": lambda w: {"token": w.offer_token},
    "P": lambda w: {"pk": w.policy.pk},
    "P v1 published": lambda w: {"pk": w.v1.pk},
    "P v2 draft": lambda w: {"pk": w.v2.pk},
    "v2's question": lambda w: {"pk": w.question.pk},
    "T": lambda w: {"pk": w.trust_policy.pk},
    "T v1 published": lambda w: {"pk": w.t1.pk},
    "po's token": lambda w: {"token": w.calendar_token},
    "a wrong token": lambda w: {"token": "not-a-calendar-token"},
    "draft request": lambda w: {"pk": w.draft_request.pk},
    "submitted request": lambda w: {"pk": w.submitted_request.pk},
    "am's training": lambda w: {"pk": w.training.pk},
    "account": lambda w: {"pk": w.account.pk},
    "item": lambda w: {"pk": w.item.pk},
    "S": lambda w: {"pk": w.s.pk},
    "N": lambda w: {"pk": w.n.pk},
    "R": lambda w: {"pk": w.r.pk},
    "C": lambda w: {"pk": w.c.pk},
    "A": lambda w: {"pk": w.a.pk},
    "school B's S": lambda w: {"pk": w.b_incident.pk},
    "S evidence": lambda w: {"pk": w.s_evidence.pk},
    "a public status token": lambda w: {"token": w.public_token},
    "a wrong status token": lambda w: {"token": "not-a-status-token-" + "x" * 24},
    "K": lambda w: {"pk": w.t.pk},
    "K's task (lm's)": lambda w: {"pk": w.t_task.pk},
    "K's takedown": lambda w: {"pk": w.t_takedown.pk},
}


# Bodies and states
# ------------------------------------------------------------------------------


def form(**fields):
    return lambda w, who: {"data": fields}


def pk_of(w, who):
    user = w.people.get(who)
    return user.pk if user else ""


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def count(model, **filters):
    return lambda w, who: model.objects.filter(**{k: v(w) if callable(v) else v for k, v in filters.items()}).count()


def value(model, obj: str, *fields):
    return lambda w, who: model.objects.filter(pk=getattr(w, obj).pk).values_list(*fields).get()


def _outbox_model() -> list:
    try:
        return [apps.get_model("core", "OutboxMessage")]
    except LookupError:  # before the outbox existed
        return []


def messages_out(w, who):
    """Email on its way: written to the outbox, queued for after the commit, or sent."""
    outbox = sum(model.objects.count() for model in _outbox_model())
    return outbox, len(connection.run_on_commit), len(getattr(mail, "outbox", []))


def added_address(w, who):
    return {"data": {"action_add": "", "email": f"also.{who}@school.example"}}


def address_count(w, who):
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(email=f"also.{who}@school.example").count()


def own(model, **filters):
    """A count of the person's own rows: ``user`` is filled in with the column's person."""
    return lambda w, who: model.objects.filter(user=w.people.get(who), **filters).count()


STAFF_CSV = b"Forename,Surname,Work Email\nNew,Starter,new.starter@school.example\n"
ORG_SETTINGS = {
    "closing_time": "16:30",
    "email_domains": "school.example",
    "acknowledgement_period_days": 14,
    "require_mfa": "on",
}


APPROVAL_RULES = {
    "official_account-approvals": 2,
    "official_account-lead": "on",
    "curriculum_group-approvals": 1,
    "curriculum_group-lead": "on",
    "website-approvals": 1,
    "website-lead": "on",
}


def approval_rules_of_school_a(w, who):
    return list(
        ApprovalRule.objects.filter(organisation=w.school_a)
        .order_by("kind")
        .values_list("kind", "slt_approvals", "lead_must_approve")
    )


def staff_record_of_st(w, who):
    return {"data": {"staff_type": "employee", "job_title": "Head of Year 3", "line_manager": w.people["lm"].pk}}


def own_record_with_more_roles(w, who):
    # The same record as it is, plus SLT: only the roles would change.
    return {"data": {"staff_type": "employee", "job_title": "Teacher", "roles": ["admin", "slt"]}}


def roles_of_ad(w, who):
    return sorted(Membership.objects.get(pk=w.membership_ad.pk).role_grants.values_list("role", flat=True))


def policy_form(title):
    def body(w, who):
        return {
            "data": {
                "title": title,
                "category": w.policy.category,
                "owner": w.people["po"].pk,
                "review_frequency_months": 12,
            }
        }

    return body


def version_form(**fields):
    def body(w, who):
        return {"data": {"requires_acknowledgement": "on", **fields}}

    return body


def markdown_file(w, who):
    return {"data": {"file": SimpleUploadedFile("photos.md", b"# Photography Policy\n\nAsk first.\n")}}


def staff_csv(w, who):
    return {"data": {"file": SimpleUploadedFile("staff.csv", STAFF_CSV, content_type="text/csv")}}


def business_case(name):
    return lambda w, who: {"data": {**BUSINESS_CASE, "proposed_name": name, "lead": w.people["st"].pk}}


def training_of_self(w, who):
    today = timezone.localdate()
    return {
        "data": {
            "person": pk_of(w, who),
            "course": "Online safety for staff",
            "completed_on": (today - dt.timedelta(days=7)).isoformat(),
            "expires_on": (today + dt.timedelta(days=700)).isoformat(),
        }
    }


def checklist(w, who):
    return {
        "data": {
            "url": "https://facebook.example/oakprimarynews",
            "linked_to_official_email": "on",
            "policy_link_in_about": "on",
            "official_branding": "on",
            "two_factor_on": "on",
            "credentials_location": "The portal",
            "credentials_changed_on": timezone.localdate().isoformat(),
            "shared_with_slt": "on",
        }
    }


def logged_item(w, who):
    received = local(timezone.now() - dt.timedelta(hours=1))
    return {"data": {"kind": "query", "received_at": received, "summary": "When is the trip?"}}


def intake_item(signed: bool):
    def body(w, who):
        payload = json.dumps(
            {
                "external_id": f"fb-{who}-{time.time_ns()}",
                "kind": "comment",
                "received_at": (timezone.now() - dt.timedelta(minutes=10)).isoformat(),
                "summary": "Lovely photos!",
            }
        ).encode()
        timestamp = str(int(time.time()))
        signature = intake_signature(intake_secret(w.account) if signed else "0" * 64, timestamp, payload)
        return {
            "data": payload,
            "content_type": "application/json",
            "headers": {"X-Portal-Timestamp": timestamp, "X-Portal-Signature": f"sha256={signature}"},
        }

    return body


NO_FILES = {
    "evidence-TOTAL_FORMS": "0",
    "evidence-INITIAL_FORMS": "0",
    "evidence-MIN_NUM_FORMS": "0",
    "evidence-MAX_NUM_FORMS": "10",
}


def staff_report(w, who):
    return {
        "data": {
            **NO_FILES,
            "category": "other",
            "platform": "other",
            "occurred_at": local(timezone.now() - dt.timedelta(days=1)),
            "description": f"Something worrying, reported by {who}.",
        }
    }


def public_report(w, who):
    return {
        "data": {
            "public_reporter": "parent",
            "category": "unofficial_account",
            "platform": "facebook",
            "occurred_at": local(timezone.now() - dt.timedelta(days=1)),
            "location": "https://facebook.example/fake-oak",
            "description": f"An account pretends to be the school ({who}).",
            "website": "",
        }
    }


def evidence_file(w, who):
    return {
        "data": {
            **NO_FILES,
            "evidence-TOTAL_FORMS": "1",
            "evidence-0-file": upload(),
            "evidence-0-shown_at": local(SHOWN),
        }
    }


def triage_as(safeguarding: bool):
    def body(w, who):
        return {
            "data": {
                "severity": "high",
                "is_safeguarding": "yes" if safeguarding else "no",
                "assignee": pk_of(w, who),
                "first_assessment": "Seen and assessed.",
            }
        }

    return body


def action_note(w, who):
    happened = local(timezone.now() - dt.timedelta(hours=1))
    return {"data": {"kind": "note", "happened_at": happened, "text": "Spoke to the parent."}}


THRESHOLD_ANSWERS = form(
    harmed_child="no", criminal_offence="no", risk_of_harm="yes", unsuitable="yes", reasons="Messages to a pupil."
)


def addendum(w, who):
    return {"data": {"corrects": w.s_triage_entry.pk, "text": "Correction: the post was on Instagram."}}


def breach(w, who):
    return {"data": {"person": w.people["ds"].pk, "version": w.v1.pk, "clause": "5.4"}}


def keep_longer(w, who):
    keep_until = (timezone.localdate() + dt.timedelta(days=365)).isoformat()
    return {"data": {"decision": "keep", "keep_until": keep_until, "reason": "A complaint is still open."}}


def retention_periods(w, who):
    years = {category: rules.retention_years for category, rules in CATEGORY_RULES.items()}
    return {"data": {**years, "other": 7}}


def next_working_day_iso(w, who):
    from core.workingdays import next_working_day

    return next_working_day(timezone.localdate(), w.school_a.nation).isoformat()


def new_task(w, who):
    return {
        "data": {
            "kind": "note",
            "title": "Check back",
            "owner": w.people["lm"].pk,
            "due_on": next_working_day_iso(w, who),
        }
    }


def takedown_form(w, who):
    reported = local(timezone.now() - dt.timedelta(hours=1))
    return {"data": {"platform": "x", "target": "@fake_oak", "reported_at": reported, "how_reported": "email"}}


def task_done(w, who):
    return {"data": {f"task{w.t_task.pk}-result": "done", f"task{w.t_task.pk}-note": "Support accepted."}}


def removed(w, who):
    return {"data": {f"removal{w.t_takedown.pk}-removed_at": local(timezone.now() - dt.timedelta(minutes=5))}}


def entries(obj):
    return lambda w, who: IncidentAction.objects.filter(incident=getattr(w, obj)).count()


def status_of(obj):
    return value(Incident, obj, "status")


def evidence_of(obj):
    return lambda w, who: Evidence.objects.filter(incident=getattr(w, obj)).count()


# The matrix
# ------------------------------------------------------------------------------
# fmt: off
# Column order:                                                       an st lm sl ld ds dp ad po os aa am lv bd td nm rp ot su
ROWS = [
    # --- Home ----------------------------------------------------------------------------------------------------------------
    # Everyone signed in has a home page of what needs them ("Who uses it"); a leaver's access ended with their membership.
    GET("home", "-",                                                     "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  A"),
    # The accessibility statement: for anyone, signed in or not (linked from every page's footer).
    GET("accessibility", "-",                                            "A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A"),

    # --- People, organisations, sign-in (accounts) -----------------------------------------------------------------------------
    # "An address is a person's identity: it counts only once verified": each person manages their own addresses
    # (the portal's own page at accounts/email/, over allauth's).
    GET("account_email", "-",                                            "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  A"),
    # (allauth itself refuses a new, unconfirmed address on an account with two-factor sign-in, as every account
    # here has: the page answering its owner is what this row checks, and that a refusal adds nothing.)
    POST("account_email", "-",                                           "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  A",
         body=added_address, state=address_count, changes=False),
    GET("accounts:organisations", "-",                                   "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  A"),
    # An invitation sets a first password: the link sent to the address is the credential, whoever opens it
    # (a leaver's old session included: pages that need no sign-in stay open to them, as to anyone).
    GET("accounts:accept_invitation", "invitation",                      "A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A"),
    POST("accounts:accept_invitation", "invitation",                     "A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A",
         body=form(new_password1=NEW_PASSWORD, new_password2=NEW_PASSWORD), state=value(Membership, "invitee_membership", "user__password")),
    # An offer of a place is answered by the person it was made to, signed in as themselves (ot); nobody else sees it.
    GET("accounts:offer", "offer to ot",                                 "L  D  D  D  D  D  D  D  D  D  D  D  x  D  D  D  D  A  D"),
    POST("accounts:offer", "offer to ot",                                "L  D  D  D  D  D  D  D  D  D  D  D  x  D  D  D  D  A  D",
         body=form(answer="decline"), state=lambda w, who: w.offer.__class__.objects.get(pk=w.offer.pk).decided_at),
    # "Organisation administrator: staff records, roles, settings." Leaders (SLT, the head) see their staff list
    # (DESIGN.md silent; they lead those people); a DSL's role has no use for it; nobody reaches another school's.
    GET("accounts:staff_list", "school A",                               "L  D  D  A  A  D  D  A  D  D  D  D  x  D  D  A  D  D  D"),
    GET("accounts:staff_invite", "school A",                             "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D"),
    POST("accounts:staff_invite", "school A",                            "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D",
         body=form(first_name="New", last_name="Person", email="new.person@school.example", staff_type="employee"),
         state=count(Membership, organisation=lambda w: w.school_a)),
    # Staff without an email (seed 000 §2, 002 §3) are added to the staff records, the administrator's to keep.
    GET("accounts:staff_add_without_email", "school A",                  "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D"),
    POST("accounts:staff_add_without_email", "school A",                 "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D",
         body=form(first_name="Lunch", last_name="Supervisor", staff_type="employee"),
         state=count(Membership, organisation=lambda w: w.school_a)),
    GET("accounts:staff_import", "school A",                             "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D"),
    POST("accounts:staff_import", "school A",                            "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D",
         body=staff_csv, state=count(Membership, organisation=lambda w: w.school_a)),
    GET("accounts:staff_edit", "st's record",                            "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D"),
    POST("accounts:staff_edit", "st's record",                           "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D",
         body=staff_record_of_st, state=value(Membership, "membership_st", "job_title")),
    # "Nobody changes their own roles, by any path": the administrator opens their own record, the new role is refused.
    POST("accounts:staff_edit", "ad's own record",                       "L  D  D  D  D  D  D  R  D  D  D  D  x  D  D  D  D  D  D",
         body=own_record_with_more_roles, state=roles_of_ad),
    POST("accounts:staff_resend_invitation", "invitee's record",         "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D",
         body=form(), state=messages_out, changes=False),  # a resend within the minute of the last is the same message
    GET("accounts:organisation_settings", "school A",                    "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D"),
    POST("accounts:organisation_settings", "school A",                   "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D",
         body=form(**ORG_SETTINGS), state=value(Organisation, "school_a", "closing_time")),
    # Who approves each kind of request is one of the organisation's settings, kept by its administrator.
    GET("approvals:approval_rules", "school A",                          "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D"),
    POST("approvals:approval_rules", "school A",                         "L  D  D  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D",
         body=form(**APPROVAL_RULES), state=approval_rules_of_school_a),

    # --- Policy acknowledgement (policies) --------------------------------------------------------------------------------------
    # Staff "read and acknowledge policies" (000 §2, 002 §3.1-3.2): those of their organisation, and the trust's, which
    # "apply to every member" (003 §1). Trust staff reach the trust's schools; school B's staff and other trusts do not.
    GET("policies:my_policies", "-",                                     "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  A"),
    GET("policies:read", "P",                                            "L  A  A  A  A  A  A  A  A  A  A  A  x  D  A  A  A  D  D"),
    GET("policies:read", "T",                                            "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  D  D"),
    GET("policies:document", "P v1 published",                           "L  A  A  A  A  A  A  A  A  A  A  A  x  D  A  A  A  D  D"),
    # "Publishing asks every person in the audience to acknowledge" (one per person per version, 000 §3): school A's
    # policy asks school A's staff; a trust DSL may read it but is not asked, so is refused with a message.
    POST("policies:acknowledge", "P v1 published",                       "L  A  A  A  A  A  A  A  A  A  A  A  x  D  R  A  A  D  D",
         body=form(confirm="on"), state=own(Acknowledgement, version__label="1", version__policy__title="Social Media Policy")),
    POST("policies:acknowledge", "T v1 published",                       "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  D  D",
         body=form(confirm="on"), state=own(Acknowledgement, version__policy__title="Acceptable Use Policy")),
    POST("policies:answer_quiz", "P v1 published",                       "L  A  A  A  A  A  A  A  A  A  A  A  x  D  A  A  A  D  D",
         body=form(), state=own(QuizAttempt)),
    POST("policies:ask_owner", "P v1 published",                         "L  A  A  A  A  A  A  A  A  A  A  A  x  D  A  A  A  D  D",
         body=form(question="May I share a class photo?"), state=lambda w, who: PolicyQuestion.objects.filter(asked_by=w.people.get(who)).count()),
    # "Policy owner: keeps a policy's text, versions and annual review" (001 policy table, 003 §9). The organisation
    # administrator's part is "staff records, roles, settings", not policies; SLT's is the compliance dashboards.
    # A draft is not yet a policy anyone follows: only its owner sees it (lifecycle "draft -> published").
    # The list of policy records (001 policy table: owner, author, approval body, version, review) is also
    # the leaders' to see, who answer for the policies and keep a review calendar (issue 14); they edit nothing.
    GET("policies:manage_list", "school A",                              "L  D  D  A  A  D  D  D  A  D  D  D  x  D  D  A  D  D  D"),
    GET("policies:create", "school A",                                   "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D"),
    POST("policies:create", "school A",                                  "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D",
         body=policy_form("Photography Policy"), state=count(Policy, organisation=lambda w: w.school_a)),
    GET("policies:import", "school A",                                   "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D"),
    POST("policies:import", "school A",                                  "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D",
         body=markdown_file, state=count(Policy, organisation=lambda w: w.school_a)),
    GET("policies:manage", "P",                                          "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D"),
    GET("policies:edit", "P",                                            "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D"),
    POST("policies:edit", "P",                                           "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D",
         body=policy_form("Social Media Policy (2026)"), state=value(Policy, "policy", "title")),
    GET("policies:create_version", "P",                                  "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D"),
    POST("policies:create_version", "P",                                 "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D",
         body=version_form(label="3", source_format="markdown", text="# Rules\n\nBe kind."),
         state=count(PolicyVersion, policy=lambda w: w.policy)),
    GET("policies:document", "P v2 draft",                               "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D"),
    GET("policies:edit_version", "P v2 draft",                           "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D"),
    POST("policies:edit_version", "P v2 draft",                          "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D",
         body=version_form(label="2", source_format="pdf", summary_of_changes="Livestreams and podcasts."),
         state=value(PolicyVersion, "v2", "summary_of_changes")),
    GET("policies:preview_version", "P v2 draft",                        "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D"),
    POST("policies:delete_question", "v2's question",                    "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D",
         body=form(), state=count(QuizQuestion, version=lambda w: w.v2)),
    GET("policies:publish_version", "P v2 draft",                        "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D"),
    POST("policies:publish_version", "P v2 draft",                       "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D",
         body=lambda w, who: {"data": {"due_date": (timezone.localdate() + dt.timedelta(days=14)).isoformat()}},
         state=value(PolicyVersion, "v2", "status")),
    # "Annual review: ... a review ends either 'no change' (new review date) or with a new version" - the owner's.
    POST("policies:review", "P",                                         "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D",
         body=form(notes="Still right."), state=count(PolicyReview, policy=lambda w: w.policy)),
    POST("policies:retire", "P",                                         "L  D  D  D  D  D  D  D  A  D  D  D  x  D  D  D  D  D  D",
         body=form(), state=value(Policy, "policy", "retired_at")),
    # Compliance: "SLT member ... sees compliance dashboards" (001 §3-4); "Line manager: sees their team's
    # acknowledgement status" (002 §7.1); the head leads the school; the owner follows their own policy's figures.
    GET("policies:dashboard", "school A",                                "L  D  A  A  A  D  D  D  A  D  D  D  x  D  D  A  D  D  D"),
    # Issue 14: a person without an email signs on paper; their line manager or an administrator records it.
    # Leaders see the figures but do not record for someone else's team; the person's own act stays theirs.
    GET("policies:record_acknowledgement", "cleaner's record",           "L  D  A  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D"),
    POST("policies:record_acknowledgement", "cleaner's record",          "L  D  A  D  D  D  D  A  D  D  D  D  x  D  D  D  D  D  D",
         body=lambda w, who: {"data": {"requests": [w.cleaner_t1_request.pk], "method": "paper",
                                       "made_on": timezone.localdate().isoformat(), "confirm": "on"}},
         state=count(Acknowledgement, user=lambda w: w.cleaner_membership.user)),
    # The scan of the signed sheet: for those who see the acknowledgement in their figures, and the administrator.
    GET("policies:signed_sheet", "cleaner's signed sheet",               "L  D  A  A  A  D  D  A  A  D  D  D  x  D  D  A  D  D  D"),
    GET("policies:people", "school A",                                   "L  D  A  A  A  D  D  D  A  D  D  D  x  D  D  A  D  D  D"),
    GET("policies:export_csv", "school A",                               "L  D  A  A  A  D  D  D  A  D  D  D  x  D  D  A  D  D  D"),
    # The evidence pack of one policy is everyone's acknowledgements ("who, which version, when, from where, and a
    # hash"): its owner and the school's leaders; a line manager sees their team only, so not the whole pack.
    GET("policies:evidence_csv", "P",                                    "L  D  D  A  A  D  D  D  A  D  D  D  x  D  D  A  D  D  D"),
    GET("policies:evidence_pdf", "P",                                    "L  D  D  A  A  D  D  D  A  D  D  D  x  D  D  A  D  D  D"),
    # Review calendar: each person's own link; the feed's token is the credential (calendar apps cannot sign in),
    # whoever's browser holds it.
    GET("policies:calendar", "-",                                        "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  A"),
    POST("policies:new_calendar_link", "-",                              "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  A",
         body=form(), state=lambda w, who: list(CalendarFeed.objects.filter(user=w.people.get(who)).values_list("token_sha256"))),
    POST("policies:turn_off_calendar_link", "-",                         "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  A",
         body=form(), state=lambda w, who: CalendarFeed.objects.filter(user=w.people.get(who)).count(), changes=False),
    GET("policies:review_calendar", "po's token",                        "A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A"),
    GET("policies:review_calendar", "a wrong token",                     "D  D  D  D  D  D  D  D  D  D  D  D  x  D  D  D  D  D  D"),

    # --- Social-media account approvals (approvals) -----------------------------------------------------------------------------
    # Any member of staff may "request an official account" (002 §3.1-3.2, 001 §4), in an organisation they belong to.
    GET("approvals:requests", "-",                                       "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  A"),
    GET("approvals:request_create", "school A",                          "L  A  A  A  A  A  A  A  A  A  A  A  x  D  A  A  A  D  D"),
    POST("approvals:request_create", "school A",                         "L  A  A  A  A  A  A  A  A  A  A  A  x  D  A  A  A  D  D",
         body=business_case("Oak Primary Drama"), state=lambda w, who: AccountRequest.objects.count()),
    # A draft is the requester's (st's) own work until it is submitted; "the requester may withdraw" (lifecycle).
    GET("approvals:request", "draft request",                            "L  A  D  D  D  D  D  D  D  D  D  D  x  D  D  D  D  D  D"),
    GET("approvals:request_edit", "draft request",                       "L  A  D  D  D  D  D  D  D  D  D  D  x  D  D  D  D  D  D"),
    POST("approvals:request_edit", "draft request",                      "L  A  D  D  D  D  D  D  D  D  D  D  x  D  D  D  D  D  D",
         body=business_case("Oak Primary Sports Day"), state=value(AccountRequest, "draft_request", "proposed_name")),
    POST("approvals:request_submit", "draft request",                    "L  A  D  D  D  D  D  D  D  D  D  D  x  D  D  D  D  D  D",
         body=form(), state=value(AccountRequest, "draft_request", "status")),
    # A business case goes "to the Leadership Team" (001 §4): SLT decide, the head is the final approver where the
    # organisation requires it (school A does; 002 §4.2, 003 §5.1); the requester (st) follows their own request.
    GET("approvals:request", "submitted request",                        "L  A  D  A  A  D  D  D  D  D  D  D  x  D  D  A  D  D  D"),
    POST("approvals:request_withdraw", "submitted request",              "L  A  D  D  D  D  D  D  D  D  D  D  x  D  D  D  D  D  D",
         body=form(reason="No longer needed."), state=value(AccountRequest, "submitted_request", "status")),
    POST("approvals:request_decide", "submitted request",                "L  D  D  A  A  D  D  D  D  D  D  D  x  D  D  A  D  D  D",
         body=form(kind="request_changes", reason="Say who moderates at weekends."),
         state=count(Decision, request=lambda w: w.submitted_request)),
    # Training "counts ... when SLT can be satisfied with it: a certificate, or a record made or verified by an
    # administrator or SLT" (001 §4): everyone records their own; administrators and SLT see and verify others'.
    GET("approvals:training", "-",                                       "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  A"),
    POST("approvals:training", "-",                                      "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  A",
         body=training_of_self, state=lambda w, who: TrainingRecord.objects.count()),
    GET("approvals:training_evidence", "am's training",                  "L  D  D  A  D  D  D  A  D  D  D  A  x  D  D  A  D  D  D"),
    POST("approvals:training_verify", "am's training",                   "L  D  D  A  D  D  D  A  D  D  D  D  x  D  D  A  D  D  D",
         body=form(), state=value(TrainingRecord, "training", "verified_at")),
    # The register: "shared with SLT" (004 §4.2); the head decides requests; the administrator keeps the accounts'
    # sign-in details; the Online Safety Coordinator is "told of abuse on official accounts" (004 §4.7, §5.4).
    GET("approvals:register", "school A",                                "L  D  D  A  A  D  D  A  D  A  D  D  x  D  D  A  D  D  D"),
    # The account page: the register's viewers and the account's own team (001 §3, §5).
    GET("approvals:account", "account",                                  "L  D  D  A  A  D  D  A  D  A  A  A  x  D  D  A  D  D  D"),
    # The account administrator "creates the approved account, keeps its credentials ... hands it over" (001 §3),
    # with the organisation's administrator; moderators run the account without administering it.
    POST("approvals:account_checklist", "account",                       "L  D  D  D  D  D  D  A  D  D  A  D  x  D  D  D  D  D  D",
         body=checklist, state=value(OfficialAccount, "account", "url")),
    # Credentials are "stored and changed by the organisation's administrator and the account's administrators".
    POST("approvals:account_credentials", "account",                     "L  D  D  D  D  D  D  A  D  D  A  D  x  D  D  D  D  D  D",
         body=form(secret="user: oaknews\npassword: new"), second_factor=True,
         state=lambda w, who: list(StoredCredentials.objects.values_list("changed_at", "changed_by"))),
    # ... shown to SLT ("updates to passwords must be shared with the SLT", 004 §4.2) and to those who store them:
    # the account's administrators and the organisation's administrator (001 §3 "Store account details, including
    # passwords securely"; issue 14), after a second factor; "Moderators and volunteers run the account without
    # seeing its password". Every reveal is logged and told to SLT, so it is a POST.
    POST("approvals:account_reveal", "account",                          "L  D  D  A  D  D  D  A  D  D  A  D  x  D  D  A  D  D  D",
         body=form(), second_factor=True,
         state=lambda w, who: AuditEntry.objects.filter(action="approvals.credentials_revealed").count()),
    POST("approvals:account_check", "account",                           "L  D  D  D  D  D  D  A  D  D  A  D  x  D  D  D  D  D  D",
         body=form(admins_confirmed="on", two_factor_still_on="on", checklist_still_true="on"),
         state=count(AccountCheck, account=lambda w: w.account)),
    # "When the lead leaves, the account must be transferred or closed" (001 §3).
    POST("approvals:account_handover", "account",                        "L  D  D  D  D  D  D  A  D  D  A  D  x  D  D  D  D  D  D",
         body=lambda w, who: {"data": {"new_lead": w.successor.pk}}, state=value(OfficialAccount, "account", "lead")),
    POST("approvals:account_close", "account",                           "L  D  D  D  D  D  D  A  D  D  A  D  x  D  D  D  D  D  D",
         body=form(reason="Merged into the school's main page."), state=value(OfficialAccount, "account", "status")),
    # The team: its administrators keep it, and SLT, who alone make someone an administrator (001 §3-4, 004 §4.2).
    POST("approvals:account_team", "account",                            "L  D  D  A  D  D  D  A  D  D  A  D  x  D  D  A  D  D  D",
         body=lambda w, who: {"data": {"person": w.people["lm"].pk, "role": "moderator"}},
         state=lambda w, who: w.account.members.count()),
    POST("approvals:account_intake_rotate", "account",                   "L  D  D  D  D  D  D  A  D  D  A  D  x  D  D  D  D  D  D",
         body=form(), state=value(OfficialAccount, "account", "intake_key_version")),
    # Response log: "each comment, query or complaint ... must be answered" (001 §5) by the account's administrators and
    # moderators ("answers within 24 h"); the register's viewers oversee it (deadlines escalate to SLT).
    GET("approvals:log", "account",                                      "L  D  D  A  A  D  D  A  D  A  A  A  x  D  D  A  D  D  D"),
    POST("approvals:log", "account",                                     "L  D  D  D  D  D  D  A  D  D  A  A  x  D  D  D  D  D  D",
         body=logged_item, state=count(ResponseItem, account=lambda w: w.account)),
    POST("approvals:item_answer", "item",                                "L  D  D  D  D  D  D  A  D  D  A  A  x  D  D  D  D  D  D",
         body=form(response="Replied with the date."), state=value(ResponseItem, "item", "answered_at")),
    # The intake takes items from automation tools signed with the account's secret: the signature is the credential,
    # whoever's browser sends it (DESIGN.md silent; the seed's 24-hour duty starts when an item arrives, 001 §5).
    POST("approvals:intake", "account",                                  "D  D  D  D  D  D  D  D  D  D  D  D  x  D  D  D  D  D  D",
         body=intake_item(signed=False), state=count(ResponseItem, account=lambda w: w.account), label="unsigned"),
    POST("approvals:intake", "account",                                  "A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A",
         body=intake_item(signed=True), state=count(ResponseItem, account=lambda w: w.account), label="signed"),

    # --- Incident reporting (incidents) -----------------------------------------------------------------------------------------
    # "Anyone signed in can report" to an organisation of theirs (004 §8.4-8.5); the superuser belongs to none.
    GET("incidents:report", "-",                                         "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  D"),
    POST("incidents:report", "-",                                        "L  A  A  A  A  A  A  A  A  A  A  A  x  D  A  A  A  D  D",
         body=staff_report, state=lambda w, who: Incident.objects.count(), query="?org=oak-primary"),
    # "A reporter sees their own report and its status, not the handlers' notes."
    GET("incidents:my_reports", "-",                                     "L  A  A  A  A  A  A  A  A  A  A  A  x  A  A  A  A  A  A"),
    GET("incidents:my_report", "S",                                      "L  D  D  D  D  D  D  D  D  D  D  D  x  D  D  D  A  D  D"),
    GET("incidents:submitted", "S",                                      "L  D  D  D  D  D  D  D  D  D  D  D  x  D  D  D  A  D  D"),
    # Who sees what: "safeguarding incidents only the DSL team (and the organisation lead)" (004 §4.7, §5.4-5.5, 000 §5);
    # "a member of staff named in a report never sees it or handles it, whatever their role" (nm is SLT and DSL);
    # "A DSL of one school never sees another school's incidents; a trust-level DSL sees the trust's."
    GET("incidents:detail", "S",                                         "L  D  D  D  A  A  A  D  D  D  D  D  x  D  A  D  S  D  D"),
    # "... other incidents SLT" (SLT "leads non-safeguarding investigations", 001 §3, 004 §4.1-4.2).
    GET("incidents:detail", "N",                                         "L  D  D  A  A  A  A  D  D  D  D  D  x  D  A  D  S  D  D"),
    # "An allegation about a DSL goes to the organisation lead instead" (ds is its subject): the lead alone.
    GET("incidents:detail", "R",                                         "L  D  D  D  A  D  D  D  D  D  D  D  x  D  D  D  S  D  D"),
    GET("incidents:detail", "school B's S",                              "L  D  D  D  D  D  D  D  D  D  D  D  x  A  A  D  D  D  D"),
    # The case file's evidence and exports: the same people as the case (evidence "stored privately", 002 App. 1).
    GET("incidents:evidence", "S evidence",                              "L  D  D  D  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D"),
    GET("incidents:export_csv", "S",                                     "L  D  D  D  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D"),
    GET("incidents:export_pdf", "S",                                     "L  D  D  D  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D"),
    # Evidence can be added by the handlers and by the reporter to their own report ("save evidence ... record the
    # time and date", 002 App. 1); never by a person named in it.
    POST("incidents:add_evidence", "S",                                  "L  D  D  D  A  A  A  D  D  D  D  D  x  D  A  D  A  D  D",
         body=evidence_file, state=evidence_of("s")),
    # "Triage by the DSL team within 24 hours"; for an allegation about a DSL, the organisation lead instead.
    POST("incidents:triage", "S",                                        "L  D  D  D  D  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=triage_as(safeguarding=True), state=entries("s")),
    POST("incidents:triage", "N",                                        "L  D  D  D  D  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=triage_as(safeguarding=False), state=entries("n")),
    POST("incidents:triage", "R",                                        "L  D  D  D  A  D  D  D  D  D  D  D  x  D  D  D  D  D  D",
         body=triage_as(safeguarding=False), state=entries("r")),
    # A concern about a member of staff: SLT handle the case (not safeguarding) but the harm-threshold step (KCSIE Part 4)
    # is the DSL team's and the organisation lead's alone; for an allegation about the DSL (R), the lead's alone.
    GET("incidents:detail", "A",                                         "L  D  D  A  A  A  A  D  D  D  D  D  x  D  A  D  S  D  D"),
    POST("incidents:decide_threshold", "A",                              "L  D  D  D  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=THRESHOLD_ANSWERS, state=count(ThresholdDecision, incident=lambda w: w.a)),
    POST("incidents:decide_threshold", "R",                              "L  D  D  D  A  D  D  D  D  D  D  D  x  D  D  D  D  D  D",
         body=THRESHOLD_ANSWERS, state=count(ThresholdDecision, incident=lambda w: w.r)),
    # "Then actions in a dated chronology" (002 App. 1, 003 §7) by those who handle the case; corrections are addenda.
    POST("incidents:add_action", "N",                                    "L  D  D  A  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=action_note, state=entries("n")),
    POST("incidents:add_addendum", "S",                                  "L  D  D  D  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=addendum, state=entries("s")),
    POST("incidents:move_status", "S",                                   "L  D  D  D  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=form(to="in_progress"), state=status_of("s")),
    # "Outcome and closure": whoever handles the case closes it, and reopens it.
    POST("incidents:close", "N",                                         "L  D  D  A  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=form(outcome="resolved", reason="The account was taken down."), state=status_of("n")),
    POST("incidents:reopen", "C",                                        "L  D  D  A  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=form(reason="A new account appeared."), state=status_of("c")),
    # A staff breach names the policy clause breached (002 §8); R is handled by the lead alone.
    POST("incidents:record_breach", "R",                                 "L  D  D  D  A  D  D  D  D  D  D  D  x  D  D  D  D  D  D",
         body=breach, state=count(PolicyBreach, incident=lambda w: w.r)),
    # Records: "a legal hold blocks deletion"; retention reviews decide a record's end. DESIGN.md silent on who:
    # the case's triage team decides for it (the DSL team; the lead for an allegation about a DSL).
    POST("incidents:legal_hold", "S",                                    "L  D  D  D  D  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=form(hold="on", reason="Police investigation."), state=value(Incident, "s", "legal_hold")),
    POST("incidents:retention_review", "C",                              "L  D  D  D  D  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=keep_longer, state=count(RetentionReview, incident=lambda w: w.c)),
    # "Actions can be tasks with an owner and a due date": set by those who handle the case; a takedown the same.
    POST("incidents:add_task", "K",                                      "L  D  D  A  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=new_task, state=lambda w, who: w.t.tasks.count()),
    POST("incidents:add_takedown", "K",                                  "L  D  D  A  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=takedown_form, state=lambda w, who: w.t.takedowns.count()),
    POST("incidents:takedown_removed", "K's takedown",                   "L  D  D  A  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=removed, state=lambda w, who: type(w.t_takedown).objects.get(pk=w.t_takedown.pk).removed_at),
    # A task's owner works it without seeing the case (lm, the line manager, offering support: 002 §7.1); the
    # handlers too; the reporter follows their report's status only; named people and other schools see nothing.
    GET("incidents:task", "K's task (lm's)",                             "L  D  A  A  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D"),
    POST("incidents:finish_task", "K's task (lm's)",                     "L  D  A  A  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=task_done, state=lambda w, who: type(w.t_task).objects.get(pk=w.t_task.pk).status),
    # Handing a task to someone else is for the handlers (the owner reaches it, so 403 for them: D).
    POST("incidents:reassign_task", "K's task (lm's)",                   "L  D  D  A  A  A  A  D  D  D  D  D  x  D  A  D  D  D  D",
         body=lambda w, who: {"data": {"owner": w.people["sl"].pk}},
         state=lambda w, who: type(w.t_task).objects.get(pk=w.t_task.pk).owner_id),
    # The organisation's incident pages: the DSL team, the lead and SLT (each row filtered to what they may see).
    GET("incidents:list", "school A",                                    "L  D  D  A  A  A  A  D  D  D  D  D  x  D  A  A  D  D  D"),
    GET("incidents:incident_dashboard", "school A",                      "L  D  D  A  A  A  A  D  D  D  D  D  x  D  A  A  D  D  D"),
    # A trust's figures, protected ("<5"), on its dashboard and in its export: those who see the trust's dashboard
    # (its own DSL team, lead and SLT; here td). A school's people do not reach the trust's pages.
    GET("incidents:incident_dashboard", "Oak Trust",                     "L  D  D  D  D  D  D  D  D  D  D  D  x  D  A  D  D  D  D"),
    GET("incidents:trust_figures_csv", "Oak Trust",                      "L  D  D  D  D  D  D  D  D  D  D  D  x  D  A  D  D  D  D"),
    # A single school has no roll-up, so no trust export.
    GET("incidents:trust_figures_csv", "school A",                       "L  D  D  D  D  D  D  D  D  D  D  D  x  D  D  D  D  D  D"),
    # Retention periods and the review queue: the safeguarding record keepers, the DSL team and the lead.
    GET("incidents:records", "school A",                                 "L  D  D  D  A  A  A  D  D  D  D  D  x  D  A  A  D  D  D"),
    POST("incidents:records", "school A",                                "L  D  D  D  A  A  A  D  D  D  D  D  x  D  A  A  D  D  D",
         body=retention_periods, state=count(RetentionPeriod, organisation=lambda w: w.school_a)),
    # "The public form lets learners, parents and others report without an account" (004 §4.1, §7.11, §8.4-8.5):
    # anyone, whatever session their browser still carries (a leaver's included).
    GET("incidents:public_report", "school A",                           "A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A"),
    POST("incidents:public_report", "school A",                          "A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A",
         body=public_report, state=lambda w, who: Incident.objects.count(), rate_limited=True),
    GET("incidents:public_thanks", "school A",                           "A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A"),
    # "Public reporters get a private status link": whoever holds the link, no sign-in; a wrong one opens nothing.
    GET("incidents:public_status", "a public status token",              "A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A  A"),
    GET("incidents:public_status", "a wrong status token",               "D  D  D  D  D  D  D  D  D  D  D  D  D  D  D  D  D  D  D",
        rate_limited=True),

    # --- The Django admin --------------------------------------------------------------------------------------------------------
    # Superuser only, with a second factor; everyone else is sent to its login page or refused.
    GET("admin:index", "-",                                              "L  x  x  x  x  x  x  x  x  x  x  x  x  x  x  x  x  x  A"),
]
# fmt: on

# A superuser who signed in with a password alone is sent to set up a second factor, for the admin and everywhere.
SECOND_FACTOR_ROWS = [("admin:index", "M"), ("home", "M")]


# Running one cell
# ------------------------------------------------------------------------------

ALLOW, DENY, LOGIN, OWN, MFA = "A", "D", "L", "S", "M"
OWN_REPORT = re.compile(r"^/incidents/mine/\d+/$")


def classify(response) -> str:
    code = response.status_code
    if code in (403, 404):
        return DENY
    if code in (301, 302, 303):
        path = urlsplit(response["Location"]).path
        if path in (reverse("account_login"), reverse("admin:login")):
            return LOGIN
        if path.startswith("/accounts/2fa/"):
            return MFA
        if OWN_REPORT.match(path):
            return OWN
        return ALLOW
    if 200 <= code < 300:
        return ALLOW
    return f"HTTP {code}"


def ledger():
    """What any change of state leaves behind: an audit entry, an email written, queued or sent (one query)."""
    tables = [AuditEntry._meta.db_table] + [model._meta.db_table for model in _outbox_model()]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {table})" for table in tables))
        counts = cursor.fetchone()
    return *counts, len(connection.run_on_commit), len(getattr(mail, "outbox", []))


def url_of(world, row: Row) -> str:
    return reverse(row.name, kwargs=TARGETS[row.target](world)) + row.query


def run_cell(world, row: Row, who: str, client=None) -> tuple[str, tuple[bool, bool]]:
    """(outcome, (anything changed, the row's state changed)); the world is as it was afterwards."""
    client = client or world.clients[who]
    cookies = copy.deepcopy(client.cookies)
    # A page one may see needs no "nothing changed" check (it saves queries over the matrix's 2,300 cells).
    snapshot = row.method == "POST" or row.expected.get(who) != "A"
    if row.rate_limited:
        cache.clear()
    try:
        with transaction.atomic():
            if row.second_factor and who in world.people:
                prove_second_factor(client, world.people[who])  # however long the run has taken so far
            before = (ledger(), row.state(world, who) if row.state else None) if snapshot else None
            if row.method == "GET":
                response = client.get(url_of(world, row))
            else:
                response = client.post(url_of(world, row), **(row.body(world, who) if row.body else {}))
            after = (ledger(), row.state(world, who) if row.state else None) if snapshot else None
            transaction.set_rollback(True)
    except Exception as exc:  # a crash is a mismatch to report, not a reason to stop the row
        return f"error {type(exc).__name__}: {exc}", (False, False)
    finally:
        client.cookies = cookies
    # What was answered, for the report: the outcome, the status, and where a redirect went.
    where = urlsplit(response.get("Location", "")).path
    got = f"{classify(response)} ({response.status_code}{' to ' + where if where else ''})"
    if not snapshot:
        return got, (False, False)
    return got, (before != after, before[1] != after[1])


def verdict(row: Row, expected: str, answer: str, changed) -> str | None:
    """None when the cell holds, else what went wrong."""
    if answer.startswith("error"):
        return answer
    got = answer.split(" (")[0]
    any_change, state_change = changed
    if expected == "A":
        if row.method == "GET":
            return None if got == ALLOW else f"got {answer}"
        made = row.changes and state_change
        # A change made and then a redirect to sign in (setting a first password) or to the
        # reporter's own page (adding evidence) is a success too.
        if got not in (ALLOW, "HTTP 400", OWN) and not (got == LOGIN and made):
            return f"got {answer}"
        if row.changes and row.state and not state_change:
            return f"got {answer} but the change was not made"
        return None
    wanted = {"D": {DENY}, "L": {LOGIN}, "x": {DENY, LOGIN}, "S": {OWN}, "M": {MFA}, "R": {ALLOW, "HTTP 400"}}
    if got not in wanted[expected]:
        return f"got {answer}" + (", and something changed" if any_change else ", nothing changed")
    if any_change:
        return f"got {answer} but something changed"
    return None


def mismatches(world, row: Row) -> list[str]:
    problems = []
    for who, expected in row.expected.items():
        got, changed = run_cell(world, row, who)
        problem = verdict(row, expected, got, changed)
        if problem:
            problems.append(f"  {who} ({PEOPLE[who]}): expected {expected}, {problem}")
    return problems


# The tests
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_the_matrix(world, row):
    problems = mismatches(world, row)
    assert not problems, f"{row.id} {url_of(world, row)}: {len(problems)} cells differ from DESIGN.md\n" + "\n".join(
        problems
    )


@pytest.mark.parametrize(("name", "expected"), SECOND_FACTOR_ROWS)
def test_a_superuser_with_a_password_alone_is_sent_to_set_up_a_second_factor(world, name, expected):
    row = GET(name, "-", " ".join(["M"] * len(COLUMNS)))
    got, changed = run_cell(world, row, "su", client=world.su_pw_client)
    assert verdict(row, expected, got, changed) is None, f"{name}: expected {expected}, got {got}"


# Coverage: a URL without a row fails the suite
# ------------------------------------------------------------------------------

PORTAL_MODULES = ("accounts.", "policies.", "approvals.", "incidents.", "core.", "portal.")
# allauth's own pages: sign-in, sign-up, sign-out, password reset and change, address confirmation, two-factor
# set-up and use, and the third-party sign-in pages. allauth guards them itself (tests/accounts/test_sign_in.py and
# test_privileged_sessions.py exercise the flows); the portal's own views mounted under accounts/ are in the matrix.
ALLAUTH_PAGES = {
    "account_login",
    "account_logout",
    "account_inactive",
    "account_signup",
    "account_reauthenticate",
    "account_email",  # allauth's, shadowed by the portal's own accounts/email/ (a row above)
    "account_email_verification_sent",
    "account_change_password",
    "account_set_password",
    "account_reset_password",
    "account_confirm_login_code",
    "account_confirm_email",
    "account_reset_password_from_key_done",
    "account_reset_password_from_key",
    "account_reset_password_done",
    "mfa_index",
    "mfa_authenticate",
    "mfa_reauthenticate",
    "mfa_activate_totp",
    "mfa_deactivate_totp",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "socialaccount_login_cancelled",
    "socialaccount_login_error",
    "socialaccount_signup",
    "socialaccount_connections",
}
# Status pages for monitors and docker (core.health): the same one-word answer for anyone, signed in or not,
# and the report of each check only for the bearer of HEALTH_CHECK_TOKEN (tests/core/test_health.py).
STATUS_PAGES = {"health", "health-live", "health-beat"}
# allauth's redirects from its old addresses (accounts/social/...), unnamed.
ALLAUTH_REDIRECTS = ("accounts/social/",)


def _patterns(resolvers, prefix="", namespace=""):
    """Every URL pattern: (route, full name, namespace, the view's module)."""
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = ":".join(part for part in (namespace, entry.name) if part) if entry.name else ""
            yield prefix + str(entry.pattern), name, namespace, getattr(entry.callback, "__module__", "") or ""


def test_every_url_of_the_portal_has_a_row_in_the_matrix():
    covered = {row.name for row in ROWS}
    missing, unknown = [], []
    for route, name, namespace, module in _patterns(get_resolver().url_patterns):
        if namespace == "admin":
            # The Django admin: its index stands for it (superuser only); its pages have the admin's own permissions.
            continue
        if namespace == "bench":
            continue  # the benchmark's bare pages, mounted only with PORTAL_BENCH (never in a deployment)
        if name in STATUS_PAGES:
            continue
        if module.startswith(PORTAL_MODULES):
            if name not in covered:
                missing.append(f"{route} ({name or 'unnamed'}, {module})")
        elif module.startswith("allauth."):
            if name not in ALLAUTH_PAGES and name not in covered:
                unknown.append(f"{route} ({name}, {module})")
        elif not route.startswith(ALLAUTH_REDIRECTS):
            unknown.append(f"{route} ({name or 'unnamed'}, {module})")
    assert "admin:index" in covered, "the Django admin's index needs its row"
    assert not missing, "URLs of the portal with no row in the access matrix:\n" + "\n".join(missing)
    assert not unknown, "URLs neither in the matrix nor exempt (add a row, or an exemption with a reason):\n" + (
        "\n".join(unknown)
    )


def test_every_row_names_a_real_url_and_every_post_says_what_it_changes(world):
    for row in ROWS:
        url_of(world, row)  # NoReverseMatch for a name or target that does not exist
        if row.method == "POST":
            assert row.state is not None, f"{row.id}: a POST row must say what a refusal leaves unchanged"
