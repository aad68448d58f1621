from allauth.account.views import EmailView
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import (
    AcceptInvitationForm,
    InviteForm,
    MembershipForm,
    OrganisationSettingsForm,
    PersonWithoutEmailForm,
    StaffImportForm,
)
from accounts.models import Membership, Offer, Role, User
from accounts.permissions import Action, access_for, get_organisation_for
from accounts.staff_import import import_staff


def accept_invitation(request, uidb64, token):
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))), is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    # An invitation sets a first password only: someone who has one resets it through
    # allauth, and everyone signs in through allauth, so two-factor sign-in always applies.
    if user is None or user.has_usable_password() or not services.invitation_tokens.check_token(user, token):
        return render(request, "accounts/invitation_invalid.html", status=400)
    form = AcceptInvitationForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.accept_invitation(user=user, password=form.cleaned_data["new_password1"])
        messages.success(request, "Your password is set. Sign in with your email address and your new password.")
        return redirect("account_login")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitee": user})


class SignInAddressView(EmailView):
    """allauth's address page, except that an address becomes the sign-in address only once confirmed."""

    def _action_primary(self, request, *args, **kwargs):
        address = self._get_email_address(request)
        if address is not None and not address.verified:
            messages.error(request, "Confirm this address first: open the link we emailed to it.")
            return redirect("account_email")
        return super()._action_primary(request, *args, **kwargs)


@login_required
def offer(request, token):
    """An offer to join an organisation, answered by the person it was made to, signed in as themselves."""
    place = services.open_offer(token, request.user)
    if place is None:
        return render(request, "accounts/offer_invalid.html", status=404)
    if request.method == "POST":
        answer = request.POST.get("answer")
        if answer not in ("accept", "decline"):
            messages.error(request, "Choose Accept and join or Decline.")
        else:
            try:
                services.decide_offer(offer=place, user=request.user, accept=answer == "accept")
            except services.StaffError as exc:
                messages.error(request, str(exc))
            else:
                name = place.organisation.name
                messages.success(request, f"You have joined {name}." if answer == "accept" else f"You declined {name}.")
                return redirect("home")
    labels = [Role(code).label for code in Role.values if code in place.roles]
    return render(request, "accounts/offer.html", {"offer": place, "role_labels": labels})


def _staff_queryset(organisation):
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user", "line_manager")
        .prefetch_related("role_grants")
        .order_by("user__last_name", "user__first_name", "pk")
    )


@login_required
def staff_list(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.VIEW_STAFF)
    memberships = _staff_queryset(organisation)
    query = request.GET.get("q", "").strip()
    if query:
        memberships = memberships.filter(
            Q(user__first_name__icontains=query)
            | Q(user__last_name__icontains=query)
            | Q(user__email__icontains=query)
            | Q(job_title__icontains=query)
            | Q(department__icontains=query)
        )
    page = Paginator(memberships, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/staff_list.html",
        {
            "organisation": organisation,
            "page": page,
            "query": query,
            "can_manage": access_for(request.user).can(Action.MANAGE_STAFF, organisation),
        },
    )


@login_required
def staff_invite(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.MANAGE_STAFF)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.invite_person(organisation=organisation, actor=request.user, **form.cleaned_data)
        except services.StaffError as exc:
            form.add_error(None, str(exc))
        else:
            if isinstance(result, Offer):
                messages.success(
                    request,
                    f"{result.user.email} already has a Policy Portal account, so we have asked them to accept "
                    "joining. They appear on the staff list once they do.",
                )
            else:
                messages.success(request, f"Invitation sent to {result.user.email}.")
            return redirect("accounts:staff_list", slug=organisation.slug)
    return render(request, "accounts/staff_invite.html", {"organisation": organisation, "form": form})


@login_required
def staff_add_without_email(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.MANAGE_STAFF)
    form = PersonWithoutEmailForm(request.POST or None, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.add_person_without_email(
                organisation=organisation, actor=request.user, **form.cleaned_data
            )
        except services.StaffError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"{membership.user} is on the staff list. Their acknowledgements are recorded for them "
                "from the compliance pages.",
            )
            return redirect("accounts:staff_list", slug=organisation.slug)
    return render(request, "accounts/staff_add_without_email.html", {"organisation": organisation, "form": form})


@login_required
def staff_edit(request, slug, pk):
    organisation = get_organisation_for(request.user, slug, Action.MANAGE_STAFF)
    membership = get_object_or_404(_staff_queryset(organisation), pk=pk)
    form = MembershipForm(request.POST or None, instance=membership)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in services.MEMBERSHIP_FIELDS}
        try:
            services.update_membership(
                membership=membership, actor=request.user, roles=form.cleaned_data["roles"], **values
            )
        except services.StaffError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Saved {membership.user}'s record.")
            return redirect("accounts:staff_list", slug=organisation.slug)
    return render(
        request, "accounts/staff_edit.html", {"organisation": organisation, "membership": membership, "form": form}
    )


@login_required
@require_POST
def staff_resend_invitation(request, slug, pk):
    organisation = get_organisation_for(request.user, slug, Action.MANAGE_STAFF)
    membership = get_object_or_404(Membership, organisation=organisation, pk=pk)
    try:
        services.resend_invitation(membership)
    except services.StaffError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Invitation sent again to {membership.user.email}.")
    return redirect("accounts:staff_list", slug=organisation.slug)


@login_required
def staff_import_view(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.MANAGE_STAFF)
    form = StaffImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = import_staff(
            organisation=organisation,
            data=form.cleaned_data["file"].read(),
            actor=request.user,
            invite=form.cleaned_data["invite"],
        )
        if report.ok:
            messages.success(
                request,
                f"Import complete: {report.created} added, {report.updated} updated, {report.unchanged} unchanged."
                + (
                    f" {len(report.offered)} already have a Policy Portal account elsewhere and have been asked to "
                    f"accept joining: {', '.join(report.offered)}."
                    if report.offered
                    else ""
                ),
            )
            for note in report.waiting:
                messages.warning(request, str(note))
            return redirect("accounts:staff_list", slug=organisation.slug)
    return render(
        request,
        "accounts/staff_import.html",
        {"organisation": organisation, "form": form, "report": report},
        status=400 if report and not report.ok else 200,
    )


@login_required
def organisation_settings(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.MANAGE_ORGANISATION)
    form = OrganisationSettingsForm(request.POST or None, instance=organisation)
    if request.method == "POST" and form.is_valid():
        services.update_organisation_settings(
            organisation=organisation,
            actor=request.user,
            **{name: form.cleaned_data[name] for name in services.ORGANISATION_SETTINGS},
        )
        messages.success(request, "Settings saved.")
        return redirect("accounts:organisation_settings", slug=organisation.slug)
    return render(request, "accounts/organisation_settings.html", {"organisation": organisation, "form": form})


@login_required
def organisations(request):
    """Every organisation the person reaches, each with the pages their roles open there: the
    navigation's menus list a trust rather than its hundred schools, and link here for the rest."""
    access = access_for(request.user)
    rows = [
        (
            org,
            access.role_labels(org),
            [
                (label, reverse(url, args=[org.slug]))
                for action, (label, url) in ORGANISATION_PAGES
                if access.can(action, org)
            ],
        )
        for org in sorted(access.organisations, key=lambda o: (o.parent_id is not None, o.name))
    ]
    return render(request, "accounts/organisations.html", {"rows": rows})


# The pages of an organisation, in the order the navigation shows them.
ORGANISATION_PAGES = (
    (Action.VIEW_COMPLIANCE, ("Compliance", "policies:dashboard")),
    (Action.VIEW_POLICY_RECORDS, ("Policies", "policies:manage_list")),
    (Action.VIEW_REGISTER, ("Account register", "approvals:register")),
    (Action.VIEW_INCIDENTS, ("Incidents", "incidents:list")),
    (Action.VIEW_STAFF, ("Staff", "accounts:staff_list")),
    (Action.MANAGE_ORGANISATION, ("Settings", "accounts:organisation_settings")),
)
