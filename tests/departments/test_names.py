"""One way to show a person's name: family name first for Chinese names, "Given Family" for
Latin ones, the username when neither is set; and the pages people read use it."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from appeals.models import Appeal
from departments.names import person_name
from tests.factories import UserFactory

User = get_user_model()


def test_a_chinese_name_reads_family_name_first_with_no_space():
    assert person_name(User(username="pan", last_name="潘", first_name="海燕")) == "潘海燕"


def test_a_latin_name_reads_given_name_first():
    assert person_name(User(username="ann", last_name="Smith", first_name="Ann")) == "Ann Smith"


def test_a_name_with_one_part_is_that_part():
    assert person_name(User(username="x", first_name="专员")) == "专员"
    assert person_name(User(username="x", last_name="Smith")) == "Smith"


def test_without_a_name_the_username_is_shown():
    assert person_name(User(username="handler_a")) == "handler_a"
    assert person_name(User(username="handler_a", first_name="  ")) == "handler_a"


@pytest.mark.django_db
def test_the_top_bar_shows_a_chinese_name_family_name_first(client):
    user = UserFactory(username="pan", last_name="潘", first_name="海燕")
    client.force_login(user)
    page = client.get(reverse("notifications")).content.decode()
    assert "潘海燕" in page
    assert "海燕 潘" not in page


@pytest.mark.django_db
def test_the_staff_timeline_credits_steps_by_family_name_first(client, appeal_at, commissioner):
    commissioner.last_name, commissioner.first_name = "潘", "海燕"
    commissioner.save()
    appeal = appeal_at(Appeal.Status.ASSIGNED)
    client.force_login(commissioner)
    page = client.get(reverse("appeal_detail", args=[appeal.number])).content.decode()
    assert "潘海燕" in page
    assert "海燕 潘" not in page


@pytest.mark.django_db
def test_the_office_finds_a_colleague_by_the_name_it_reads(client, office):
    UserFactory(username="pan", last_name="潘", first_name="海燕")
    UserFactory(username="wang", last_name="王", first_name="明")
    client.force_login(office)

    page = client.get(reverse("staff_list"), {"q": "潘海燕"}).content.decode()

    assert 'href="/staff/' in page and ">pan<" in page
    assert ">wang<" not in page
