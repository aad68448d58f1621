"""Online-safety incidents: the report, the people named in it, its evidence and its chronology.

The categories and who is told come from the seeds (DESIGN.md "Incident
reporting"): 002 Appendix 1 (online abuse of staff), 004 §4.1 (unofficial
accounts), §4.7 (comments on official accounts), §5.4-5.5 (contact with and
communication involving pupils), 002 §8 and 003 §7 (breaches and referrals).
The chronology and the evidence are append-only: corrections are addenda.

One package, three modules: ``cases`` (the incident and who is in it), ``records`` (what it keeps,
append-only) and ``tasks`` (work on it). Everything is importable from ``incidents.models``.
"""

from incidents.models.cases import (
    CATEGORY_RULES,
    NO_UPLOAD_CATEGORIES,
    OPEN_STATUSES,
    OUTCOMES_NEEDING_REASON,
    STATUS_MOVES,
    TELL_SLT_CATEGORIES,
    Category,
    CategoryRules,
    Incident,
    IncidentQuerySet,
    Involvement,
    NamedPerson,
    NamedPersonQuerySet,
    Outcome,
    Platform,
    PublicReporter,
    PublicStatusLink,
    RecordUnderLegalHold,
    Severity,
    Status,
    _refuse_held,
)
from incidents.models.records import (
    HAND_ACTIONS,
    REFERRALS,
    ActionKind,
    Evidence,
    IncidentAction,
    PolicyBreach,
    RetentionDecision,
    RetentionPeriod,
    RetentionReview,
    ThresholdDecision,
    ThresholdOutcome,
    _evidence_path,
)
from incidents.models.tasks import HowReported, IncidentTask, IncidentTaskQuerySet, Takedown, TaskStatus

__all__ = [
    "ThresholdDecision",
    "ThresholdOutcome",
    "CATEGORY_RULES",
    "STATUS_MOVES",
    "Category",
    "CategoryRules",
    "NO_UPLOAD_CATEGORIES",
    "TELL_SLT_CATEGORIES",
    "Platform",
    "Status",
    "OPEN_STATUSES",
    "Severity",
    "Outcome",
    "OUTCOMES_NEEDING_REASON",
    "PublicReporter",
    "RecordUnderLegalHold",
    "_refuse_held",
    "IncidentQuerySet",
    "Incident",
    "Involvement",
    "NamedPersonQuerySet",
    "NamedPerson",
    "PublicStatusLink",
    "_evidence_path",
    "Evidence",
    "ActionKind",
    "HAND_ACTIONS",
    "REFERRALS",
    "IncidentAction",
    "PolicyBreach",
    "RetentionPeriod",
    "RetentionDecision",
    "RetentionReview",
    "TaskStatus",
    "IncidentTaskQuerySet",
    "IncidentTask",
    "HowReported",
    "Takedown",
]
