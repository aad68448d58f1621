"""Every page type a demo person reaches (``seed_demo``), by who reaches it.

The titles test (tests/portal/test_titles.py) and the focus test (tests/e2e/test_focus_visible.py)
go through this one list, so a page type added here is checked both ways. An address is either a
path or a function of no arguments that finds one in the demo data (a draft version to publish, a
case with tasks); it may add what the demo lacks, as a person would, through the services.
"""

from collections.abc import Callable
from typing import NamedTuple

NORTHFIELD = "/organisations/northfield-primary"
TRUST = "/organisations/northfield-trust"


class DemoPage(NamedTuple):
    who: str | None  # the demo address signed in, or None for a visitor
    name: str
    path: str | Callable[[], str]
    status: int = 200  # what the page answers: a dead end says so (404, 429)


def _membership(email: str, slug: str = "northfield-primary") -> int:
    from accounts.models import Membership

    return Membership.objects.get(organisation__slug=slug, user__email=email).pk


def policy_to_read() -> str:
    from policies.models import Policy

    return f"/policies/{Policy.objects.get(organisation__slug='northfield-trust', retired_at=None).pk}/"


def _policy_pk() -> int:
    return int(policy_to_read().strip("/").split("/")[-1])


def _draft_version() -> int:
    """A third version of the trust's policy, drafted by its owner (the demo has none in draft)."""
    from accounts.models import User
    from policies import services
    from policies.models import Policy, VersionStatus

    policy = Policy.objects.get(pk=_policy_pk())
    draft = policy.versions.filter(status=VersionStatus.DRAFT).first()
    if draft is None:
        draft = services.create_version(
            policy=policy,
            actor=User.objects.get(email="owner@example.org"),
            text="# Social Media Policy\n\nVersion 3: the demo's draft, with a clearer section on closed groups.",
            label="3",
            summary_of_changes="Closed groups for curriculum use are explained in their own section.",
        )
    return draft.pk


def _staff_page(email: str, slug: str = "northfield-primary") -> str:
    return f"/organisations/{slug}/staff/{_membership(email, slug)}/"


def _request(status: str) -> str:
    from approvals.models import AccountRequest

    request = AccountRequest.objects.filter(organisation__slug="northfield-primary", status=status).first()
    return f"/approvals/requests/{request.pk}/"


def _own_request() -> str:
    from approvals.models import AccountRequest

    return f"/approvals/requests/{AccountRequest.objects.filter(requester__email='manager@example.org').first().pk}/"


def _official_account() -> int:
    from approvals.models import OfficialAccount

    return OfficialAccount.objects.filter(organisation__slug="northfield-primary").order_by("pk").first().pk


def _case(category: str, *, triaged: bool = True) -> int:
    from incidents.models import Incident

    cases = Incident.objects.filter(organisation__slug="northfield-primary", category=category)
    return cases.filter(triaged_at__isnull=not triaged).order_by("pk").first().pk


def _untriaged_case() -> str:
    from incidents.models import Incident

    case = Incident.objects.filter(organisation__slug="northfield-primary", triaged_at__isnull=True).first()
    return f"/incidents/{case.pk}/"


def _support_task() -> str:
    """The open support-plan task of the case about abuse of staff@, for the person who owns it."""
    from incidents.models import IncidentTask, TaskStatus

    task = (
        IncidentTask.objects.filter(incident__category="abuse_of_staff", status=TaskStatus.OPEN).order_by("pk").first()
    )
    return f"/incidents/tasks/{task.pk}/"


def _public_status() -> str:
    """A fresh private status link for the demo's public report (tokens are kept only as hashes)."""
    from incidents import public_reports
    from incidents.models import Incident

    incident = Incident.objects.filter(organisation__slug="northfield-primary", reported_by=None).first()
    return f"/report/status/{public_reports.issue_link(incident)}/"


def _own_report() -> str:
    from incidents.models import Incident

    return f"/incidents/mine/{Incident.objects.filter(reported_by__email='staff@example.org').first().pk}/"


def _report_sent() -> str:
    from incidents.models import Incident

    return f"/incidents/{Incident.objects.filter(reported_by__email='staff@example.org').first().pk}/submitted/"


def _record_acknowledgement() -> str:
    """The line manager records a paper acknowledgement for Sue Barker, who has no work email."""
    from accounts.models import Membership

    sue = Membership.objects.get(
        organisation__slug="northfield-primary", user__first_name="Sue", user__last_name="Barker"
    )
    return f"/policies/staff/{sue.pk}/record-acknowledgement/"


STAFF, MANAGER, SLT, HEAD, DSL = (f"{n}@example.org" for n in ("staff", "manager", "slt", "head", "dsl"))
OWNER, ADMIN, TRUST_DSL, CEO = (f"{n}@example.org" for n in ("owner", "admin", "trust.dsl", "ceo"))
SCHOOL_ADMIN, OSC = "l.harris@example.org", "osc@example.org"

PAGES = [
    # A visitor
    DemoPage(None, "sign-in", "/accounts/login/"),
    DemoPage(None, "password reset", "/accounts/password/reset/"),
    DemoPage(None, "password reset sent", "/accounts/password/reset/done/"),
    DemoPage(None, "sign-up closed", "/accounts/signup/"),
    DemoPage(None, "public report form", "/report/northfield-primary/"),
    DemoPage(None, "public report status", _public_status),
    DemoPage(None, "public report not found", "/report/status/not-a-real-token/", status=404),
    DemoPage(None, "accessibility statement", "/accessibility/"),
    DemoPage(None, "page not found", "/no-such-page/", status=404),
    # A member of staff
    DemoPage(STAFF, "home", "/"),
    DemoPage(STAFF, "policy list", "/policies/"),
    DemoPage(STAFF, "reading page, with what changed", policy_to_read),
    DemoPage(STAFF, "incident report form", "/incidents/report/"),
    DemoPage(STAFF, "incident report sent", _report_sent),
    DemoPage(STAFF, "my reports", "/incidents/mine/"),
    DemoPage(STAFF, "my report and its support plan", _own_report),
    DemoPage(STAFF, "account request form", f"{NORTHFIELD}/requests/new/"),
    DemoPage(STAFF, "social-media accounts", "/approvals/"),
    DemoPage(STAFF, "two-factor authentication", "/accounts/2fa/"),
    DemoPage(STAFF, "sign-in addresses", "/accounts/email/"),
    DemoPage(STAFF, "change password", "/accounts/password/change/"),
    DemoPage(STAFF, "confirm it is you", "/accounts/reauthenticate/"),
    # A line manager
    DemoPage(MANAGER, "home", "/"),
    DemoPage(MANAGER, "record an assisted acknowledgement", _record_acknowledgement),
    DemoPage(MANAGER, "their own account request", _own_request),
    # SLT
    DemoPage(SLT, "home", "/"),
    DemoPage(SLT, "compliance dashboard", f"{NORTHFIELD}/compliance/"),
    DemoPage(SLT, "people drill-down, overdue", f"{NORTHFIELD}/compliance/people/?status=overdue"),
    DemoPage(SLT, "people drill-down, everyone", f"{NORTHFIELD}/compliance/people/"),
    DemoPage(SLT, "account requests", "/approvals/"),
    DemoPage(SLT, "account request to decide", lambda: _request("submitted")),
    DemoPage(SLT, "account register", f"{NORTHFIELD}/accounts/"),
    DemoPage(SLT, "an official account", lambda: f"/approvals/accounts/{_official_account()}/"),
    DemoPage(SLT, "training records", "/approvals/training/"),
    DemoPage(SLT, "training records, searched", "/approvals/training/?q=Dunn"),
    # The online safety coordinator, who leads the school's official account
    DemoPage(OSC, "an account's response log", lambda: f"/approvals/accounts/{_official_account()}/log/"),
    DemoPage(OSC, "an official account, for its lead", lambda: f"/approvals/accounts/{_official_account()}/"),
    # The head teacher
    DemoPage(HEAD, "incident list", f"{NORTHFIELD}/incidents/"),
    DemoPage(HEAD, "a task of a support plan", _support_task),
    # The DSL
    DemoPage(DSL, "home", "/"),
    DemoPage(DSL, "a case to triage", _untriaged_case),
    DemoPage(DSL, "a case with tasks and takedowns", lambda: f"/incidents/{_case('unofficial_account')}/"),
    DemoPage(DSL, "incident dashboard", f"{NORTHFIELD}/incidents/dashboard/"),
    DemoPage(DSL, "incident records", f"{NORTHFIELD}/incidents/records/"),
    # The school's administrator
    DemoPage(SCHOOL_ADMIN, "staff list", f"{NORTHFIELD}/staff/"),
    DemoPage(SCHOOL_ADMIN, "a staff member's page", lambda: _staff_page("l.evans@example.org")),
    DemoPage(SCHOOL_ADMIN, "staff import", f"{NORTHFIELD}/staff/import/"),
    DemoPage(SCHOOL_ADMIN, "invite a person", f"{NORTHFIELD}/staff/invite/"),
    DemoPage(SCHOOL_ADMIN, "add someone without an email", f"{NORTHFIELD}/staff/add-without-email/"),
    DemoPage(SCHOOL_ADMIN, "organisation settings", f"{NORTHFIELD}/settings/"),
    DemoPage(SCHOOL_ADMIN, "approval rules", f"{NORTHFIELD}/approval-rules/"),
    DemoPage(SCHOOL_ADMIN, "your organisations", "/organisations/"),
    # The trust's policy owner
    DemoPage(OWNER, "policies to manage", f"{TRUST}/policies/"),
    DemoPage(OWNER, "a policy to manage, its evidence and exports", lambda: f"/policies/{_policy_pk()}/manage/"),
    DemoPage(OWNER, "edit a policy", lambda: f"/policies/{_policy_pk()}/edit/"),
    DemoPage(OWNER, "new policy", f"{TRUST}/policies/new/"),
    DemoPage(OWNER, "import a policy", f"{TRUST}/policies/import/"),
    DemoPage(OWNER, "new version", lambda: f"/policies/{_policy_pk()}/versions/new/"),
    DemoPage(OWNER, "edit a draft version", lambda: f"/policies/versions/{_draft_version()}/edit/"),
    DemoPage(OWNER, "preview a draft version", lambda: f"/policies/versions/{_draft_version()}/preview/"),
    DemoPage(OWNER, "publish a version", lambda: f"/policies/versions/{_draft_version()}/publish/"),
    DemoPage(OWNER, "review dates in a calendar", "/policies/calendar/"),
    # The trust's administrator, safeguarding lead and chief executive: trust-level pages
    DemoPage(ADMIN, "trust staff list", f"{TRUST}/staff/"),
    DemoPage(TRUST_DSL, "trust incident dashboard", f"{TRUST}/incidents/dashboard/"),
    DemoPage(CEO, "trust compliance dashboard", f"{TRUST}/compliance/"),
]
