"""The benchmark's official accounts, response log and incidents (``bench/make_data.py``'s
``Builder`` mixes this in): spread over every school, scaled with the number of staff."""

import datetime as dt

DOMAIN = "bench.example"


class Activity:
    """Needs ``schools``, ``memberships``, ``scale``, ``rng``, ``now``, ``today`` and ``_bulk`` of the builder."""

    # Official accounts and their response log -----------------------------------------
    def accounts(self):
        from approvals.models import AccountMember, AccountRequest, OfficialAccount, ResponseItem
        from core.workingdays import response_due

        count = max(10, round(300 * self.scale))
        items = max(200, round(20_000 * self.scale))
        people_by_school = {}
        for m in self.memberships:
            if m.leaving_date is None:
                people_by_school.setdefault(m.organisation_id, []).append(m.user_id)
        platforms = ["facebook", "instagram", "x", "linkedin", "youtube", "tiktok", "blog"]
        requests, accounts = [], []
        for i in range(count):
            school = self.schools[i % len(self.schools)]
            lead = people_by_school[school.pk][0]
            requests.append(
                AccountRequest(
                    organisation=school,
                    requester_id=lead,
                    platform=platforms[i % len(platforms)],
                    proposed_name=f"{school.name} account {i}",
                    official_email=f"office{i}@{DOMAIN}",
                    aim="Celebrate pupils' work",
                    audience="Parents",
                    promotion="Newsletter",
                    visibility="open",
                    status="approved",
                    submission=1,
                    submitted_at=self.now - dt.timedelta(days=200),
                    decided_at=self.now - dt.timedelta(days=199),
                )
            )
        requests = self._bulk(AccountRequest, requests)
        for i, request in enumerate(requests):
            status = "active" if i % 10 else ["pending_creation", "handover_needed"][i // 10 % 2]
            accounts.append(
                OfficialAccount(
                    request=request,
                    organisation_id=request.organisation_id,
                    name=request.proposed_name,
                    platform=request.platform,
                    url=f"https://social.example/{i}",
                    official_email=request.official_email,
                    lead_id=request.requester_id,
                    status=status,
                    linked_to_official_email=True,
                    policy_link_in_about=True,
                    official_branding=True,
                    two_factor_on=True,
                    shared_with_slt=True,
                    credentials_location="The SLT safe",
                    credentials_changed_on=self.today - dt.timedelta(days=30),
                    activated_at=self.now - dt.timedelta(days=190) if status == "active" else None,
                    next_check_due=self.today + dt.timedelta(days=(i % 120) - 20),
                )
            )
        accounts = self._bulk(OfficialAccount, accounts)
        members = []
        for i, account in enumerate(accounts):
            team = people_by_school[account.organisation_id]
            members.append(AccountMember(account=account, user_id=account.lead_id, role="administrator"))
            moderator = team[(1 + i) % len(team)]
            if moderator != account.lead_id:
                members.append(AccountMember(account=account, user_id=moderator, role="moderator"))
        self._bulk(AccountMember, members, returning=False)
        orgs = {org.pk: org for org in self.schools}
        rows = []
        for n in range(items):
            account = accounts[n % len(accounts)]
            received = self.now - dt.timedelta(minutes=self.rng.randint(10, 180 * 24 * 60))
            due = response_due(received, orgs[account.organisation_id])
            answered = None
            if self.rng.random() < 0.93 or received < self.now - dt.timedelta(days=14):
                answered = received + dt.timedelta(minutes=self.rng.randint(5, 30 * 60))
                answered = min(answered, self.now)
            rows.append(
                ResponseItem(
                    account=account,
                    kind=["comment", "query", "complaint"][n % 3],
                    received_at=received,
                    due_at=due,
                    summary=f"A parent asks about item {n}.",
                    external_id=f"ext-{n}",
                    logged_by_id=account.lead_id,
                    answered_at=answered,
                    answered_by_id=account.lead_id if answered else None,
                    response="Thank you, we will reply by email." if answered else "",
                )
            )
        self._bulk(ResponseItem, rows, returning=False)

    # Incidents and their chronologies -------------------------------------------------
    def incidents(self):
        from incidents.models import (
            CATEGORY_RULES,
            ActionKind,
            Category,
            Incident,
            IncidentAction,
            NamedPerson,
            Platform,
            Severity,
        )
        from incidents.reminders import triage_due

        count = max(50, round(3000 * self.scale))
        people_by_school = {}
        for m in self.memberships:
            people_by_school.setdefault(m.organisation_id, []).append(m.user_id)
        statuses = ["new"] * 1 + ["triaged"] * 2 + ["in_progress"] * 2 + ["referred"] * 1 + ["closed"] * 4
        categories, platforms, severities = Category.values, Platform.values, Severity.values
        incidents = []
        for n in range(count):
            school = self.schools[n % len(self.schools)]
            reported = self.now - dt.timedelta(minutes=self.rng.randint(60, 365 * 24 * 60))
            status = statuses[n % len(statuses)]
            category = categories[n % len(categories)]
            triaged = status != "new"
            incidents.append(
                Incident(
                    organisation=school,
                    reference=f"INC-{n:05d}",
                    category=category,
                    platform=platforms[n % len(platforms)],
                    occurred_at=reported - dt.timedelta(hours=3),
                    description="Something happened online.",
                    reported_by_id=people_by_school[school.pk][-1],
                    reported_at=reported,
                    status=status,
                    is_safeguarding=CATEGORY_RULES[category].safeguarding,
                    triage_due_at=triage_due(reported, school),  # the working-day clock, as a report sets it
                    severity=severities[n % len(severities)] if triaged else "",
                    triaged_at=reported + dt.timedelta(hours=self.rng.randint(1, 30)) if triaged else None,
                    triaged_by_id=people_by_school[school.pk][min(3, len(people_by_school[school.pk]) - 1)]
                    if triaged
                    else None,
                    first_assessment="Assessed." if triaged else "",
                    assignee_id=people_by_school[school.pk][0] if triaged else None,
                    outcome="resolved" if status == "closed" else "",
                    closed_at=reported + dt.timedelta(days=5) if status == "closed" else None,
                    retention_review_on=(reported + dt.timedelta(days=6 * 365)).date() if status == "closed" else None,
                )
            )
        incidents = self._bulk(Incident, incidents)
        actions, named = [], []
        for n, incident in enumerate(incidents):
            actions.append(
                IncidentAction(
                    incident=incident, kind=ActionKind.NOTE, happened_at=incident.reported_at, text="Reported."
                )
            )
            if incident.triaged_at:
                actions.append(
                    IncidentAction(
                        incident=incident,
                        kind=ActionKind.TRIAGE,
                        happened_at=incident.triaged_at,
                        text="Triaged.",
                        recorded_by_id=incident.triaged_by_id,
                    )
                )
                actions.append(
                    IncidentAction(
                        incident=incident,
                        kind=ActionKind.MEETING,
                        happened_at=incident.triaged_at + dt.timedelta(hours=2),
                        text="Met the member of staff.",
                        recorded_by_id=incident.triaged_by_id,
                    )
                )
            if incident.closed_at:
                actions.append(
                    IncidentAction(
                        incident=incident,
                        kind=ActionKind.STATUS,
                        happened_at=incident.closed_at,
                        text="Closed.",
                        recorded_by_id=incident.triaged_by_id,
                    )
                )
            if incident.category == Category.STAFF_BREACH:
                team = people_by_school[incident.organisation_id]
                named.append(NamedPerson(incident=incident, user_id=team[n % len(team)], involvement="subject"))
        self._bulk(IncidentAction, actions, returning=False)
        self._bulk(NamedPerson, named, returning=False)
