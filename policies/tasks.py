from celery import shared_task

from core.emails import send_templated_email
from policies import reminders
from policies.models import PolicyQuestion


@shared_task
def send_acknowledgement_reminders() -> dict:
    return reminders.send_acknowledgement_reminders()


@shared_task
def send_review_reminders() -> int:
    return reminders.send_review_reminders()


@shared_task
def send_policy_question(question_id: int) -> None:
    question = (
        PolicyQuestion.objects.select_related("policy__owner", "asked_by", "version").filter(pk=question_id).first()
    )
    if question is None:
        return
    send_templated_email(
        "policies/question_for_owner",
        to=[question.policy.owner.email],
        context={"question": question},
        reply_to=[question.asked_by.email],
    )


@shared_task
def fold_tallies() -> dict:
    from policies import tallies

    return tallies.fold() if tallies.kept() else {}
