"""Demo incidents across categories and states, with generated evidence images (no real people or posts)."""

import datetime as dt
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import User
from incidents import casework, services
from incidents.models import Category, Incident, TaskStatus
from incidents.reminders import triage_due


def _screenshot(title: str, lines: list[str]) -> SimpleUploadedFile:
    """A drawn, made-up 'screenshot' of a post: grey boxes for avatars, invented handles, no real people."""
    image = Image.new("RGB", (720, 420), (245, 246, 248))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 720, 56), fill=(29, 79, 145))
    draw.text((20, 20), title, fill=(255, 255, 255))
    y = 80
    for line in lines:
        draw.ellipse((20, y, 60, y + 40), fill=(190, 195, 205))
        draw.rounded_rectangle((75, y - 4, 700, y + 48), radius=10, fill=(255, 255, 255), outline=(210, 214, 220))
        draw.text((90, y + 12), line, fill=(33, 37, 41))
        y += 70
    draw.text((20, 390), "DEMO IMAGE - invented content", fill=(120, 120, 120))
    out = io.BytesIO()
    image.save(out, "PNG")
    return SimpleUploadedFile("screenshot.png", out.getvalue(), content_type="image/png")


def seed_incidents(organisation, *, domain: str) -> int:
    """Create the demo incidents once; later runs leave them as they are."""
    if Incident.objects.filter(organisation=organisation).exists():
        return 0

    def person(local):
        return User.objects.get(email=f"{local}@{domain}")

    staff, dsl, deputy, slt = person("staff"), person("dsl"), person("deputy.dsl"), person("slt")
    now = timezone.now()
    ago = lambda **kw: now - dt.timedelta(**kw)  # noqa: E731

    def make(reporter, category, hours_ago, description, *, files=(), **fields):
        incident = services.report_incident(
            organisation=organisation,
            reporter=reporter,
            category=category,
            occurred_at=ago(hours=hours_ago + 2),
            description=description,
            files=[(f, ago(hours=hours_ago + 2)) for f in files],
            notify=False,
            **fields,
        )
        # Backdate it, as if it had been reported then (demo data only).
        Incident.objects.filter(pk=incident.pk).update(
            reported_at=ago(hours=hours_ago), triage_due_at=triage_due(ago(hours=hours_ago), organisation)
        )
        return Incident.objects.get(pk=incident.pk)

    def _triage(incident, hours_ago, **fields):
        # Triaged then, as the story goes: its time, its chronology entry and any LADO deadline follow.
        services.triage(incident=incident, at=ago(hours=hours_ago), **fields)

    # 1. Awaiting triage, deadline close.
    make(
        person("l.evans"),
        Category.OFFICIAL_ACCOUNT_COMMENT,
        19,
        "An abusive comment under the school's sports day post on the official Facebook page.",
        platform="facebook",
        location="Northfield Primary official page, sports day post",
        files=[_screenshot("Facebook - comment", ["parent_account_123: (abusive comment, demo text)"])],
    )
    # 2. Awaiting triage, fresh, a public report.
    make(
        None,
        Category.UNOFFICIAL_ACCOUNT,
        3,
        "An Instagram account called northfield_primary_fans posts photos of the school gates.",
        platform="instagram",
        location="@northfield_primary_fans",
        public_reporter="parent",
    )
    # 3. In progress: online abuse of a member of staff (staff@ reported abuse of themselves), with its
    # support plan (seed 002 App. 1) part worked: support given, evidence saved, the pupil route set aside.
    abuse = make(
        staff,
        Category.ABUSE_OF_STAFF,
        72,
        "A post in a local parents' group calls me a liar about a detention.",
        platform="facebook",
        location="Local parents' group",
        files=[_screenshot("Parents' group", ["user_demo_a: (post about a teacher)", "user_demo_b: agreed"])],
    )
    _triage(
        abuse,
        70,
        actor=dsl,
        severity="medium",
        is_safeguarding=False,
        assignee=slt,
        first_assessment="Not a safeguarding matter; SLT to meet the parent.",
    )
    services.record_action(
        incident=abuse,
        actor=slt,
        kind="meeting",
        happened_at=ago(hours=50),
        text="Met the parent, who agreed to remove the post.",
    )
    services.record_action(
        incident=abuse,
        actor=slt,
        kind="staff_support",
        happened_at=ago(hours=49),
        text="Offered support to the teacher; referral to the employee assistance line.",
    )
    plan = {task.plan_step: task for task in abuse.tasks.all()}
    head, manager = person("head"), person("manager")
    casework.finish_task(
        task=plan["support"], actor=manager, done=True, note="Talked with Sam; support accepted, with cover for PPA."
    )
    casework.finish_task(task=plan["evidence"], actor=head, done=True, note="Screenshots saved to the case.")
    casework.finish_task(
        task=plan["procedures"], actor=head, done=False, note="Posted by a parent, not a pupil or colleague."
    )
    casework.finish_task(task=plan["meeting"], actor=head, done=True, note="Met the parent on Tuesday.")
    assert abuse.tasks.filter(status=TaskStatus.OPEN).exists()
    # 4. Referred: pupil contact on a personal account, LADO referral made.
    contact = make(
        person("osc"),
        Category.PUPIL_CONTACT,
        150,
        "A Year 6 pupil says a contractor followed them on TikTok and sent a message.",
        platform="tiktok",
        pupils=[{"initials": "RB", "group": "Year 6"}],
        subjects=[person("d.fletcher")],
    )
    _triage(
        contact,
        148,
        actor=dsl,
        severity="high",
        is_safeguarding=True,
        assignee=deputy,
        first_assessment="Possible breach of the Social Media Policy, clause 5.2; LADO threshold met.",
        lado_referral_needed=True,
    )
    services.record_action(
        incident=contact,
        actor=deputy,
        kind="lado",
        happened_at=ago(hours=140),
        text="Referred to the LADO by phone and the online form.",
        external_reference="LADO-DEMO-17",
    )
    # 5. Closed: cyberbullying between pupils.
    bullying = make(
        deputy,
        Category.CYBERBULLYING,
        1500,
        "Two Year 5 pupils report unkind messages in a class group chat.",
        platform="whatsapp",
        pupils=[{"initials": "TM", "group": "Year 5"}, {"initials": "SK", "group": "Year 5"}],
        files=[_screenshot("Group chat", ["pupil_demo_1: (unkind message)", "pupil_demo_2: (reply)"])],
    )
    _triage(
        bullying,
        1496,
        actor=dsl,
        severity="low",
        is_safeguarding=True,
        assignee=deputy,
        first_assessment="Handle through the behaviour policy with parents.",
    )
    services.record_action(
        incident=bullying,
        actor=deputy,
        kind="meeting",
        happened_at=ago(hours=1480),
        text="Met both families; messages deleted.",
    )
    services.close_incident(
        incident=bullying, actor=deputy, outcome="resolved", reason="Resolved through the behaviour policy."
    )
    # 6. Nude imagery: described, never uploaded.
    make(
        deputy,
        Category.NUDE_IMAGERY,
        30,
        "A Year 6 pupil told a teacher an image of another pupil is being shared. No image was viewed.",
        platform="snapchat",
        pupils=[{"initials": "JD", "group": "Year 6"}],
    )
    # 7. In progress: an account impersonating the school, reported to the platform and awaiting its answer.
    fake = make(
        person("osc"),
        Category.UNOFFICIAL_ACCOUNT,
        40,
        "A TikTok account called northfield.primary.official uses the school badge and posts pupils' work.",
        platform="tiktok",
        location="@northfield.primary.official",
        files=[_screenshot("TikTok - profile", ["northfield.primary.official: (profile using the badge)"])],
    )
    _triage(
        fake,
        38,
        actor=dsl,
        severity="medium",
        is_safeguarding=False,
        assignee=slt,
        first_assessment="Not an official account (not in the register). Report it to TikTok for impersonation.",
    )
    casework.record_takedown(
        incident=fake,
        actor=slt,
        platform="tiktok",
        target="@northfield.primary.official",
        reported_at=ago(hours=30),
        how_reported="report_tool",
        platform_reference="TT-DEMO-4471",
    )
    return Incident.objects.filter(organisation=organisation).count()
