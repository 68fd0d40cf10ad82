"""Static pages (about, contact, terms, privacy, corrections policy): in each language, linked
from every page's footer, edited by editors in the admin."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from newsroom.models import Page
from tests.admin_forms import form_data
from tests.factories import PageFactory
from tests.html import parse, visible_text

pytestmark = pytest.mark.django_db

PAGES = "/admin/newsroom/page/"


def test_page_shows_its_copy_in_each_language(client):
    PageFactory(
        slug="about",
        title_en="About us",
        body_en="<h2>Who we are</h2><p>A newsroom owned by its readers.</p>",
        title_ru="О нас",
        body_ru="<h2>Кто мы</h2><p>Редакция, которой владеют читатели.</p>",
    )

    english, russian = client.get("/about/"), client.get("/ru/about/")

    assert english.status_code == russian.status_code == 200
    assert visible_text(parse(english).h1) == "About us"
    assert "A newsroom owned by its readers." in visible_text(english)
    assert visible_text(parse(russian).h1) == "О нас"
    assert "Редакция, которой владеют читатели." in visible_text(russian)
    assert parse(russian).html["lang"] == "ru"


def test_page_describes_itself_with_the_start_of_its_text(client):
    PageFactory(
        slug="about", body_en="<h2>Who we are</h2><p>A newsroom <em>owned</em> by readers.</p>"
    )

    description = parse(client.get("/about/")).select_one("meta[name=description]")["content"]

    assert description == "Who we are A newsroom owned by readers."


@pytest.mark.parametrize("empty", [None, ""])
def test_a_missing_russian_copy_shows_the_english_one(client, empty):
    PageFactory(
        slug="terms", title_en="Terms", body_en="<p>The rules.</p>", title_ru=empty, body_ru=empty
    )

    response = client.get("/ru/terms/")

    assert visible_text(parse(response).h1) == "Terms"
    assert "The rules." in visible_text(response)


def test_unknown_page_is_not_found(client):
    PageFactory(slug="about")
    assert client.get("/no-such-page/").status_code == 404
    assert client.get("/ru/no-such-page/").status_code == 404


def test_page_text_is_sanitised_on_save_in_every_language(client):
    page = PageFactory(
        slug="contact",
        body_en='<p>Write to us<script>alert(1)</script> <img src=x onerror="alert(2)"></p>'
        '<p><a href="javascript:alert(3)">here</a></p>',
        body_ru='<p onclick="alert(4)">Пишите нам</p><iframe src="https://evil.example"></iframe>',
    )
    page.refresh_from_db()

    for body in (page.body_en, page.body_ru):
        assert "alert" not in body and "<img" not in body and "<iframe" not in body
    assert "Write to us" in page.body_en and "Пишите нам" in page.body_ru
    html = client.get("/contact/").content.decode()
    assert "alert(" not in html


@pytest.mark.parametrize("slug", ["admin", "membership", "donate", "ru", "static", "media"])
def test_a_slug_another_address_of_the_site_answers_is_refused(slug):
    page = Page(slug=slug, title_en="Taken", title="Taken")

    with pytest.raises(ValidationError) as error:
        page.full_clean()

    assert error.value.message_dict["slug"] == [
        "This address is taken by another page of the site."
    ]


def test_page_slugs_that_nothing_else_answers_are_accepted():
    for slug in ["about", "contact", "terms", "privacy", "corrections", "section", "author"]:
        Page(slug=slug, title_en="Fine", title="Fine").full_clean()


def test_editor_adds_a_page_in_the_admin_in_both_languages(client, editor):
    client.force_login(editor)
    add = client.get(f"{PAGES}add/")

    response = client.post(
        f"{PAGES}add/",
        form_data(
            add,
            form_id="page_form",
            slug="corrections",
            title_en="Corrections policy",
            title_ru="Политика исправлений",
            body_en="<p>We correct errors openly.</p>",
            body_ru="<p>Мы открыто исправляем ошибки.</p>",
            _save="Save",
        ),
    )

    assert response.status_code == 302
    assert "We correct errors openly." in visible_text(client.get("/corrections/"))
    assert "Мы открыто исправляем ошибки." in visible_text(client.get("/ru/corrections/"))


@pytest.mark.parametrize("admin_prefix", ["", "/ru"])
def test_admin_refuses_a_slug_taken_by_another_address(client, editor, admin_prefix):
    client.force_login(editor)
    add_url = f"{admin_prefix}{PAGES}add/"

    response = client.post(
        add_url,
        form_data(
            client.get(add_url),
            form_id="page_form",
            slug="membership",
            title_en="Membership",
            _save="Save",
        ),
    )

    assert response.status_code == 200
    assert parse(response).select_one(".field-slug .errorlist") is not None
    assert not Page.objects.exists()


def test_contributors_cannot_edit_pages(client, contributor):
    page = PageFactory()
    client.force_login(contributor)

    assert client.get(f"{PAGES}add/").status_code == 403
    assert client.get(f"{PAGES}{page.pk}/change/").status_code == 403


def footer_links(response):
    nav = parse(response).select_one("footer nav")
    return [(a.get_text(), a["href"]) for a in nav.select("a")] if nav else []


def test_footer_links_the_pages_in_order_in_each_language(client):
    PageFactory(slug="privacy", title_en="Privacy", title_ru="Конфиденциальность", position=3)
    PageFactory(slug="about", title_en="About us", title_ru="О нас", position=1)
    PageFactory(slug="contact", title_en="Contact", title_ru="", position=2)
    PageFactory(slug="internal", title_en="Style guide", in_footer=False)

    assert footer_links(client.get("/")) == [
        ("About us", "/about/"),
        ("Contact", "/contact/"),
        ("Privacy", "/privacy/"),
    ]
    assert footer_links(Client().get("/ru/")) == [
        ("О нас", "/ru/about/"),
        ("Contact", "/ru/contact/"),
        ("Конфиденциальность", "/ru/privacy/"),
    ]
    assert parse(client.get("/")).select_one("footer nav")["aria-label"] == "About the newsroom"


def test_no_footer_navigation_without_pages(client):
    assert footer_links(client.get("/")) == []
