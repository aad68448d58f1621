"""Demo account requests in every state, active accounts and a realistic response log."""

import datetime as dt
import hashlib

from django.utils import timezone

from accounts.models import User
from approvals.approval_rules import Rule, set_approval_rules
from approvals.models import (
    AccountMember,
    AccountRequest,
    AccountRole,
    AccountStatus,
    Decision,
    DecisionKind,
    ItemKind,
    OfficialAccount,
    Platform,
    RequestKind,
    RequestStatus,
    ResponseItem,
    TrainingRecord,
    Visibility,
)
from approvals.register import next_check_date
from core.workingdays import response_due

TRAINED = ("osc@", "k.dunn@", "slt@", "head@", "dsl@", "c.fraser@", "i.campbell@", "manager@")

REQUESTS = [
    # org, requester, kind, platform, name, status, runners (lead first), reason
    (
        "northfield-primary",
        "osc@",
        RequestKind.OFFICIAL_ACCOUNT,
        Platform.FACEBOOK,
        "Northfield Primary News",
        RequestStatus.APPROVED,
        ["osc@", "k.dunn@"],
        "A clear plan and a trained team.",
    ),
    (
        "northfield-primary",
        "k.dunn@",
        RequestKind.CURRICULUM_GROUP,
        Platform.BLOG,
        "Year 1 Class Blog",
        RequestStatus.APPROVED,
        ["k.dunn@"],
        "Closed to families of the class: approved.",
    ),
    (
        "northfield-primary",
        "manager@",
        RequestKind.OFFICIAL_ACCOUNT,
        Platform.INSTAGRAM,
        "northfield_ks2",
        RequestStatus.SUBMITTED,
        ["manager@", "osc@"],
        "",
    ),
    (
        "northfield-primary",
        "l.evans@",
        RequestKind.OFFICIAL_ACCOUNT,
        Platform.TIKTOK,
        "Northfield Sports Day",
        RequestStatus.CHANGES_REQUESTED,
        ["l.evans@"],
        "Say how you will keep comments off, and who moderates in the holidays.",
    ),
    (
        "northfield-primary",
        "r.kumar@",
        RequestKind.WEBSITE,
        Platform.WEBSITE,
        "Northfield Lettings",
        RequestStatus.REJECTED,
        ["r.kumar@"],
        "Lettings are advertised on the school website already.",
    ),
    (
        "northfield-primary",
        "staff@",
        RequestKind.CURRICULUM_GROUP,
        Platform.CLASSROOM,
        "Year 4 Reading Club",
        RequestStatus.DRAFT,
        ["staff@"],
        "",
    ),
    (
        "northfield-primary",
        "d.fletcher@",
        RequestKind.OFFICIAL_ACCOUNT,
        Platform.X,
        "NorthfieldIT",
        RequestStatus.WITHDRAWN,
        ["d.fletcher@"],
        "No longer needed.",
    ),
    (
        "glenmoor-adult-learning",
        "c.fraser@",
        RequestKind.OFFICIAL_ACCOUNT,
        Platform.FACEBOOK,
        "Glenmoor Learning",
        RequestStatus.APPROVED,
        ["c.fraser@"],
        "Approved for course news.",
    ),
]

COMMENTS = [
    (ItemKind.QUERY, "Parent asks when the autumn term trip letters go out."),
    (ItemKind.COMMENT, "Grandparent says well done to the choir."),
    (ItemKind.QUERY, "Is there breakfast club on the INSET day?"),
    (ItemKind.COMPLAINT, "Parent unhappy that the car park was closed at pick-up."),
    (ItemKind.COMMENT, "Former pupil shares photos of their graduation."),
    (ItemKind.QUERY, "How do I apply for a Reception place?"),
    (ItemKind.QUERY, "Which day is the Christmas fair?"),
    (ItemKind.COMPLAINT, "Neighbour reports parking across their drive."),
]


def _user(prefix, domain):
    return User.objects.get(email=f"{prefix}{domain}")


def _n(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


# The seeds' rules: SLT approve an official account (001 §4); the head teacher agrees a closed
# blog or group for the curriculum (002 §4.2) and a website or blog that mentions the provision
# (004 "Blogging": the Managing Partner).
DEMO_RULES = {
    RequestKind.OFFICIAL_ACCOUNT: Rule(slt_approvals=1, lead_must_approve=False),
    RequestKind.CURRICULUM_GROUP: Rule(slt_approvals=1, lead_must_approve=True),
    RequestKind.WEBSITE: Rule(slt_approvals=1, lead_must_approve=True),
}


def seed_approvals(orgs: dict, domain: str) -> None:
    for org in orgs.values():
        set_approval_rules(organisation=org, actor=None, rules=DEMO_RULES)  # writes nothing the second time
    if AccountRequest.objects.filter(organisation__in=orgs.values()).exists():
        return
    now = timezone.now()
    admin = _user("admin@", domain)
    for prefix in TRAINED:
        person = _user(prefix, domain)
        TrainingRecord.objects.create(
            user=person,
            course="Social media for school staff",
            completed_on=(now - dt.timedelta(days=120 + _n(prefix) % 200)).date(),
            expires_on=(now + dt.timedelta(days=400 + _n(prefix) % 200)).date(),
            recorded_by=admin,
            verified_by=admin,
            verified_at=now,
        )
    slt, head = _user("slt@", domain), _user("head@", domain)
    for n, (slug, requester, kind, platform, name, status, runners, reason) in enumerate(REQUESTS):
        org = orgs[slug]
        created = now - dt.timedelta(days=200 - n * 20)
        request = AccountRequest.objects.create(
            organisation=org,
            requester=_user(requester, domain),
            kind=kind,
            platform=platform,
            proposed_name=name,
            official_email=f"{name.lower().replace(' ', '.').replace('_', '.')}@{domain}",
            aim=f"To share news and learning from {org.name} with the families we serve.",
            audience="Parents, carers and the local community."
            if kind != RequestKind.CURRICULUM_GROUP
            else "Pupils in the class and their families only.",
            promotion="Newsletter, the school website and the welcome pack.",
            visibility=Visibility.CLOSED if kind == RequestKind.CURRICULUM_GROUP else Visibility.OPEN,
            status=status,
            submission=0 if status == RequestStatus.DRAFT else 1,
            submitted_at=None if status == RequestStatus.DRAFT else created + dt.timedelta(days=1),
            decided_at=created + dt.timedelta(days=3)
            if status in (RequestStatus.APPROVED, RequestStatus.REJECTED)
            else None,
            decision_reason=reason,
        )
        AccountRequest.objects.filter(pk=request.pk).update(created_at=created)
        runner_users = [_user(r, domain) for r in runners]
        request.runners.bulk_create(
            [request.runners.model(request=request, user=u, is_lead=i == 0) for i, u in enumerate(runner_users)]
        )
        decider = head if slug == "northfield-primary" else _user("i.campbell@", domain)
        decision = {
            RequestStatus.APPROVED: DecisionKind.APPROVE,
            RequestStatus.REJECTED: DecisionKind.REJECT,
            RequestStatus.CHANGES_REQUESTED: DecisionKind.REQUEST_CHANGES,
        }.get(status)
        if decision:
            Decision.objects.create(
                request=request,
                submission=1,
                decider=decider if decider != request.requester else slt,
                kind=decision,
                reason=reason,
            )
        if status == RequestStatus.APPROVED:
            _account(request, runner_users, created, domain)


def _account(request, runners, created, domain) -> OfficialAccount:
    activated = created + dt.timedelta(days=7)
    account = OfficialAccount.objects.create(
        request=request,
        organisation=request.organisation,
        name=request.proposed_name,
        platform=request.platform,
        url=f"https://social.example/{request.proposed_name.lower().replace(' ', '')}",
        official_email=request.official_email,
        lead=runners[0],
        status=AccountStatus.ACTIVE,
        linked_to_official_email=True,
        policy_link_in_about=True,
        official_branding=True,
        two_factor_on=True,
        credentials_location="The SLT safe, sealed envelope",
        credentials_changed_on=activated.date(),
        shared_with_slt=True,
        activated_at=activated,
        next_check_due=next_check_date(timezone.localdate() - dt.timedelta(days=30)),
    )
    AccountMember.objects.bulk_create(
        [
            AccountMember(account=account, user=u, role=AccountRole.ADMINISTRATOR if n == 0 else AccountRole.MODERATOR)
            for n, u in enumerate(runners)
        ]
    )
    _response_log(account, runners[0])
    return account


def _response_log(account, answerer) -> None:
    now = timezone.now()
    items = []
    for n in range(24):
        kind, summary = COMMENTS[(n + _n(account.name)) % len(COMMENTS)]
        received = now - dt.timedelta(days=90 - n * 3.7, hours=_n(f"{account.name}{n}") % 9)
        due = response_due(received, account.organisation)
        late = (_n(f"late{account.name}{n}") % 10) == 0
        answered = received + (dt.timedelta(hours=30) if late else dt.timedelta(minutes=20 + _n(f"m{n}") % 600))
        items.append(
            ResponseItem(
                account=account,
                kind=kind,
                received_at=received,
                due_at=due,
                summary=summary,
                logged_by=answerer,
                answered_at=answered,
                answered_by=answerer,
                response="Replied with the details." if not late else "Apologised for the delay and replied.",
                admins_reminded_at=answered if late else None,
                escalated_at=answered if late else None,
            )
        )
    for hours_ago, summary in (
        (3, "Parent asks whether school is open after the storm warning."),
        (30, "Complaint about a photo caption spelling a child's name wrongly."),
    ):
        received = now - dt.timedelta(hours=hours_ago)
        items.append(
            ResponseItem(
                account=account,
                kind=ItemKind.QUERY if hours_ago < 10 else ItemKind.COMPLAINT,
                received_at=received,
                due_at=response_due(received, account.organisation),
                summary=summary,
                logged_by=answerer,
            )
        )
    ResponseItem.objects.bulk_create(items)
