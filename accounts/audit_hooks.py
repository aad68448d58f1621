"""Sign-in changes made by allauth's own flows, written to the audit trail.

allauth owns these flows, so its signals are the only place to hear of them;
the receivers only record, they change nothing.
"""

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals

from core.audit import log_action


def _log(action):
    def receiver(sender, request=None, user=None, authenticator=None, **kwargs):
        user = user or getattr(authenticator, "user", None)
        details = {"type": authenticator.type} if authenticator is not None else {}
        log_action(action, actor=user, obj=user, details=details)

    return receiver


RECEIVERS = [
    (account_signals.password_changed, _log("account.password_changed")),
    (account_signals.password_set, _log("account.password_set")),
    (account_signals.password_reset, _log("account.password_reset")),
    (mfa_signals.authenticator_added, _log("account.two_factor_added")),
    (mfa_signals.authenticator_removed, _log("account.two_factor_removed")),
    (mfa_signals.authenticator_reset, _log("account.two_factor_reset")),
]


def connect():
    for signal, receiver in RECEIVERS:
        signal.connect(receiver, dispatch_uid=f"audit:{id(signal)}")
