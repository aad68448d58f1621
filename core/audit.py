"""``log_action``: the one way every service records a change of state.

The request's IP address reaches it through a context variable set by
``core.middleware.AuditContextMiddleware``, so services need not pass requests
around; tasks and commands run with no IP.
"""

import contextvars
from contextlib import contextmanager

from django.contrib.contenttypes.models import ContentType

from core.models import AuditEntry

_current_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_ip", default=None)


@contextmanager
def audit_ip(ip: str | None):
    token = _current_ip.set(ip)
    try:
        yield
    finally:
        _current_ip.reset(token)


def log_action(
    action: str,
    *,
    actor=None,
    organisation=None,
    obj=None,
    from_state: str = "",
    to_state: str = "",
    details: dict | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        organisation=organisation,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        from_state=from_state or "",
        to_state=to_state or "",
        details=details or {},
        ip_address=_current_ip.get(),
    )
