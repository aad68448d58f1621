"""The GOV.UK error summary: one list, at the top of the page's main content, linking to each field
with an error, and "Error: " before the page title whenever a form on the page was sent back.

base.html opens every page's content with ``{% page_error_summary %}``: whatever forms the view
sent back, wherever on the page they sit, their problems are listed first, and each form so listed
shows no second summary of its own."""

from django import forms, template
from django.forms.formsets import BaseFormSet

register = template.Library()

# Widgets drawn as several inputs: the summary links to the first of them (the field has no
# single element, and Django gives its label no ``for``).
_GROUPS = (forms.RadioSelect, forms.CheckboxSelectMultiple, forms.MultiWidget)


def _target(bound) -> str:
    if bound.is_hidden:
        return ""
    if isinstance(bound.field.widget, _GROUPS):
        return f"{bound.auto_id}_0" if bound.auto_id else ""
    return bound.id_for_label or ""


def _form_items(form) -> list[dict]:
    items = [{"message": str(e), "target": ""} for e in form.non_field_errors()]
    for bound in form:
        items += [{"message": str(e), "target": _target(bound)} for e in bound.errors]
    return items


def _checked(thing) -> bool:
    """Only forms the view has already validated count; reading ``errors`` here must not validate."""
    if isinstance(thing, BaseFormSet):
        return thing.is_bound and thing._errors is not None
    return isinstance(thing, forms.BaseForm) and thing.is_bound and thing._errors is not None


def summary_items(*things) -> list[dict]:
    items = []
    for thing in things:
        if not _checked(thing) or getattr(thing, "_summarised", False):
            continue
        if isinstance(thing, BaseFormSet):
            items += [{"message": str(e), "target": ""} for e in thing.non_form_errors()]
            for form in thing.forms:
                items += _form_items(form)
        else:
            items += _form_items(thing)
    return items


@register.inclusion_tag("includes/_error_summary.html")
def error_summary(*things):
    """``{% error_summary form files %}``: the form and any formsets sent with it."""
    return {"items": summary_items(*things)}


def _sent_back(context) -> list:
    """The forms and formsets in the page's context that the view validated and found wrong."""
    found, seen = [], set()
    for value in context.flatten().values():
        if id(value) not in seen and _checked(value) and summary_items(value):
            seen.add(id(value))
            found.append(value)
    return found


@register.simple_tag(takes_context=True)
def error_title_prefix(context) -> str:
    return "Error: " if _sent_back(context) else ""


@register.inclusion_tag("includes/_error_summary.html", takes_context=True)
def page_error_summary(context):
    """The summary at the top of the page, of every form sent back; later summaries of the same
    forms (a page's own ``{% error_summary %}``, crispy's errors template) are then left out."""
    things = _sent_back(context)
    items = summary_items(*things)
    for thing in things:
        thing.error_summary_on_page = True
        thing._summarised = True
    return {"items": items}
