"""The GOV.UK error pattern, built once in core: messages that name the field and say what to
do, one summary at the top of every form linking to each field, "Error: " before the title."""

import pytest
from django import forms
from django.template import Context, Template

from core.forms import ClearErrorsMixin, form_helper
from core.templatetags.error_summary import summary_items

pytestmark = pytest.mark.django_db


class Sample(ClearErrorsMixin, forms.Form):
    name = forms.CharField(label="Your name", max_length=5)
    web = forms.URLField(label="Web address", assume_scheme="https")
    when = forms.DateTimeField(label="Due date")
    how_many = forms.IntegerField(label="Number of pupils")
    kind = forms.ChoiceField(
        label="What is it about?", choices=[("", "---------"), ("a", "A"), ("b", "B")], widget=forms.RadioSelect
    )
    lead = forms.ChoiceField(label="Who will lead it", choices=[("", "---------"), ("a", "A")])
    spare = forms.ChoiceField(label="Spare", choices=[("", "---------"), ("a", "A")], required=False)
    file = forms.FileField(label="File")
    agree = forms.BooleanField(label="I agree to the terms")
    kept = forms.CharField(label="Kept", error_messages={"required": "Enter the reference from the letter"})


def test_it_names_the_field_and_says_what_to_do():
    form = Sample(data={})
    assert not form.is_valid()
    assert form.errors["name"] == ["Enter your name"]
    assert form.errors["web"] == ["Enter the web address"]
    assert form.errors["kind"] == ["Select an answer to “What is it about?”"]
    assert form.errors["lead"] == ["Select who will lead it"]
    assert form.errors["file"] == ["Choose a file"]
    assert form.errors["agree"] == ["Tick the box to confirm “I agree to the terms”"]
    assert form.errors["kept"] == ["Enter the reference from the letter"]


def test_a_wrong_value_gets_a_message_that_says_what_a_right_one_looks_like():
    form = Sample(data={"name": "Too long", "web": "nope", "when": "soon", "how_many": "lots", "kind": "z"})
    assert not form.is_valid()
    assert form.errors["name"] == ["Your name must be 5 characters or fewer (it has 8)"]
    assert form.errors["web"] == ["Enter a web address in the correct format, like https://www.example.org"]
    assert form.errors["when"] == ["Enter a real date and time for the due date, for example 14/03/2026 09:30"]
    assert form.errors["how_many"] == ["Enter the number of pupils as a whole number, like 3"]
    assert form.errors["kind"] == ["Select one of the options given for the answer to “What is it about?”"]


def test_a_question_that_must_be_answered_offers_no_blank_answer():
    assert Sample().fields["kind"].choices == [("a", "A"), ("b", "B")]
    assert "checked" not in str(Sample()["kind"])
    # A drop-down keeps its empty first line, saying what to do; an optional one keeps Django's.
    assert Sample().fields["lead"].choices[0] == ("", "Choose one")
    assert Sample().fields["spare"].choices[0] == ("", "---------")


def test_the_summary_links_each_error_to_its_field_and_lists_the_form_wide_ones():
    form = Sample(data={"name": "Jo", "web": "https://example.org", "when": "2026-01-01 10:00", "how_many": "3"})
    form.is_valid()
    form.add_error(None, "These dates overlap")
    items = summary_items(form)
    assert items[0] == {"message": "These dates overlap", "target": ""}
    targets = {i["target"]: i["message"] for i in items[1:]}
    assert targets["id_kind_0"] == "Select an answer to “What is it about?”"  # the first radio
    assert targets["id_file"] == "Choose a file"
    assert targets["id_kept"] == "Enter the reference from the letter"


def test_a_form_not_yet_validated_shows_no_summary_and_is_not_validated_by_it():
    form = Sample(data={})
    assert summary_items(form) == [] and form._errors is None


def test_the_page_title_says_error_only_when_a_form_came_back():
    page = Template("{% load error_summary %}<title>{% error_title_prefix %}Report</title>{% error_summary form %}")
    sent_back = Sample(data={})
    sent_back.is_valid()
    html = page.render(Context({"form": sent_back}))
    assert "<title>Error: Report</title>" in html
    assert 'role="alert"' in html and "There is a problem" in html and 'href="#id_name"' in html
    assert page.render(Context({"form": Sample()})) == "<title>Report</title>\n"


def test_every_form_is_checked_by_the_server_and_each_button_has_its_own_id():
    first, second = form_helper("Save triage"), form_helper("Close incident")
    assert first.attrs["novalidate"] == "" and not form_helper("Send", tag=False).inputs
    assert first.inputs[0].id != second.inputs[0].id
