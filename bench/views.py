"""The stack's floor: the cheapest pages the portal can serve, through the same middleware.

Included in the URLs only when ``PORTAL_BENCH`` is set (``policyportal/urls.py``).
``bare_page`` is a signed-in page whose one template only extends the portal's layout
(so the floor includes the navigation every page draws); ``bare_insert`` is a
signed-in POST that inserts one row and redirects, as acknowledging does.
"""

from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.db import connection, transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template import Engine, RequestContext
from django.utils import timezone
from django.views.decorators.http import require_POST

_TEMPLATE = Engine.get_default().from_string((Path(__file__).resolve().parent / "bare.html").read_text())


@login_required
def bare_page(request):
    return HttpResponse(_TEMPLATE.render(RequestContext(request, {"now": timezone.now()})))


@login_required
@require_POST
def bare_insert(request):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_insert (user_id, created_at) VALUES (%s, %s)", [request.user.pk, timezone.now()]
        )
    return redirect("bench:bare_page")
