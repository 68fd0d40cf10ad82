"""The Russian catalogue (locale/ru/LC_MESSAGES): complete, compiled, and what /ru/ readers see.

The .po files are parsed with a few lines of stdlib code (polib is not a dependency); GNU
gettext's msgfmt checks them too where it is installed.
"""

import ast
import gettext
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.utils import translation
from django.utils.translation import ngettext, pgettext
from django.views.i18n import JavaScriptCatalog

from newsroom.models import Article
from tests.factories import (
    ArticleFactory,
    PriceFactory,
    RegionFactory,
    SectionFactory,
    TagFactory,
)
from tests.html import parse, visible_text

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "ru" / "LC_MESSAGES"
DOMAINS = ["django", "djangojs"]
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def parse_po(path):
    """Entries of a .po file: dicts with flags, msgctxt, msgid, msgid_plural and msgstr (a list)."""
    entries, entry, field = [], None, None

    def finish():
        if entry is not None:
            entries.append(entry)

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = line.strip()
        if not line:
            finish()
            entry = field = None
            continue
        if entry is None:
            entry = {"flags": set(), "msgctxt": None, "msgid_plural": None, "msgstr": []}
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = ast.literal_eval(line)
            if field == "msgstr":
                entry["msgstr"][-1] += value
            else:
                entry[field] += value
        else:
            keyword, _, value = line.partition(" ")
            value = ast.literal_eval(value)
            if keyword.startswith("msgstr"):
                field = "msgstr"
                entry["msgstr"].append(value)
            else:
                field = keyword
                entry[field] = value
    return entries


def messages(domain):
    """The catalogue's messages, without the header entry."""
    return [e for e in parse_po(LC_MESSAGES / f"{domain}.po") if e.get("msgid")]


def label(entry):
    return f"{entry['msgctxt']}|{entry['msgid']}" if entry["msgctxt"] else entry["msgid"]


# The catalogue itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_is_translated_and_none_is_fuzzy(domain):
    entries = parse_po(LC_MESSAGES / f"{domain}.po")
    header, messages_ = entries[0], entries[1:]

    assert header["msgid"] == "" and "fuzzy" not in header["flags"]
    assert "Language: ru\n" in header["msgstr"][0]
    assert "Content-Type: text/plain; charset=UTF-8\n" in header["msgstr"][0]
    nplurals = int(re.search(r"nplurals=(\d+)", header["msgstr"][0]).group(1))
    assert messages_, "the catalogue is empty"
    assert not [label(e) for e in messages_ if e.get("obsolete")]
    assert not [label(e) for e in messages_ if "fuzzy" in e["flags"]]
    assert not [label(e) for e in messages_ if not all(s.strip() for s in e["msgstr"])]
    assert not [
        label(e)
        for e in messages_
        if e["msgid_plural"] is not None and len(e["msgstr"]) != nplurals
    ]


@pytest.mark.parametrize("domain", DOMAINS)
def test_translations_keep_the_placeholders_and_markup(domain):
    """%(name)s, %d and HTML tags of each msgid come back unchanged in every form."""
    wrong = []
    for entry in messages(domain):
        sources = [entry["msgid"]] + ([entry["msgid_plural"]] if entry["msgid_plural"] else [])
        expected = {
            "placeholders": sorted(set(PLACEHOLDER.findall(sources[-1]))),
            "tags": sorted(TAG.findall(sources[-1])),
        }
        for translated in entry["msgstr"]:
            found = {
                "placeholders": sorted(set(PLACEHOLDER.findall(translated))),
                "tags": sorted(TAG.findall(translated)),
            }
            if found != expected:
                wrong.append((label(entry), translated))
    assert not wrong


@pytest.mark.parametrize("domain", DOMAINS)
def test_msgfmt_accepts_the_catalogue(domain):
    """GNU gettext's own checks: header, format strings against their flags, plural forms."""
    if not shutil.which("msgfmt"):
        pytest.skip("GNU gettext (msgfmt) is not installed")
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", LC_MESSAGES / f"{domain}.po"],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C", "LANGUAGE": ""},
    )
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr, result.stderr


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_mo_file_is_compiled_from_the_po_file(domain, tmp_path):
    """Nobody edited the .po without running compilemessages (no build step compiles it)."""
    if not shutil.which("msgfmt"):
        pytest.skip("GNU gettext (msgfmt) is not installed")
    fresh = tmp_path / f"{domain}.mo"
    subprocess.run(
        ["msgfmt", "--check-format", "-o", fresh, LC_MESSAGES / f"{domain}.po"], check=True
    )
    with open(fresh, "rb") as f:
        expected = gettext.GNUTranslations(f)
    with open(LC_MESSAGES / f"{domain}.mo", "rb") as f:
        committed = gettext.GNUTranslations(f)

    assert committed._catalog == expected._catalog, (
        f"locale/ru/LC_MESSAGES/{domain}.mo is stale: run manage.py compilemessages -l ru"
    )
    assert [committed.plural(n) for n in range(200)] == [expected.plural(n) for n in range(200)]


def test_russian_plurals_take_the_right_form():
    def published(count):
        with translation.override("ru"):
            return ngettext("%(count)d story published.", "%(count)d stories published.", count) % {
                "count": count
            }

    assert published(1) == "1 материал опубликован."
    assert published(21) == "21 материал опубликован."
    assert published(3) == "3 материала опубликованы."
    assert published(24) == "24 материала опубликованы."
    assert published(5) == "5 материалов опубликовано."
    assert published(11) == "11 материалов опубликовано."
    assert published(12) == "12 материалов опубликовано."
    assert published(111) == "111 материалов опубликовано."


def test_a_context_keeps_the_byline_words_apart():
    with translation.override("ru"):
        assert pgettext("byline", "By") == "Текст:"
        assert pgettext("byline", "and") == "и"


def test_the_admins_javascript_catalogue_carries_the_body_editors_strings():
    """The admin's jsi18n view (loaded by the change form) serves locale/ru's djangojs domain,
    which static/newsroom/editor/figure.js reads through window.gettext."""
    request = RequestFactory().get("/ru/admin/jsi18n/")
    with translation.override("ru"):
        response = JavaScriptCatalog.as_view(packages=["django.contrib.admin"])(request)
    catalog = json.loads(
        re.search(r"const newcatalog = (\{.*?\});", response.content.decode(), re.DOTALL).group(1)
    )
    assert catalog["Insert figure"] == "Вставить иллюстрацию"
    assert catalog["No credit"] == "Автор не указан"


# What readers of the Russian edition see --------------------------------------------------------


def headings(response, level=1):
    return [visible_text(heading) for heading in parse(response).find_all(f"h{level}")]


def test_the_russian_front_page_chrome_is_in_russian(client, db):
    response = client.get("/ru/")
    page = visible_text(response)

    assert response.status_code == 200
    assert '<html lang="ru">' in response.content.decode()
    for russian in [
        "Перейти к содержанию",
        "Оформить подписку",
        "Пожертвовать",
        "Личный кабинет",
        "Независимая журналистика на средства подписчиков.",
    ]:
        assert russian in page
    for english in ["Skip to content", "Become a member", "Donate", "Your account"]:
        assert english not in page


def test_the_english_edition_stays_in_english(client, db):
    page = visible_text(client.get("/"))

    assert "Skip to content" in page and "Become a member" in page and "Donate" in page
    assert "Оформить подписку" not in page


def test_the_russian_membership_page(client, db):
    PriceFactory()
    response = client.get("/ru/membership/")
    page = visible_text(response)

    assert headings(response) == ["Оформить подписку"]
    assert "5 € в месяц" in page
    assert "Выбрать тариф «Supporter»" in page
    assert "Хотите поддержать нас разово? Сделайте пожертвование" in page
    assert "per month" not in page and "Join as" not in page


def test_the_russian_donation_page(client, db):
    response = client.get("/ru/donate/")
    page = visible_text(response)

    assert headings(response) == ["Поддержите нашу журналистику"]
    for russian in ["Периодичность", "Разово", "Ежемесячно", "Другая сумма", "Перейти к оплате"]:
        assert russian in page
    assert "Continue to payment" not in page


def test_the_russian_log_in_page(client, db):
    page = visible_text(client.get("/ru/accounts/login/"))

    assert "Войти" in page and "Пароль" in page and "Перейти к содержанию" in page
    assert "Sign In" not in page and "Password" not in page


def test_the_russian_account_page_of_a_member(client, member):
    client.force_login(member)
    response = client.get("/ru/membership/account/")
    page = visible_text(response)

    assert headings(response) == ["Ваша подписка"]
    assert "Тариф Supporter · 5 € в месяц" in page
    assert "Статус Действует" in page
    assert "Продление" in page and "Удалить аккаунт" in page


def test_a_members_only_story_in_russian_shows_a_russian_gate_and_byline(client, db):
    article = ArticleFactory(
        language="ru",
        slug="vybory-v-tbilisi",
        headline="Выборы в Тбилиси",
        visibility=Article.Visibility.MEMBERS,
        section__slug="p",
    )
    page = visible_text(client.get(article.get_absolute_url()))

    assert "Текст: Nino Author" in page
    assert "Фото: Tamar Photographer." in page
    assert "Этот материал — для подписчиков" in page
    assert "Уже подписаны? Войдите" in page
    assert "This story is for members" not in page and "By Nino" not in page


def test_a_missing_russian_page_says_so_in_russian(client, db):
    response = client.get("/ru/no-such-page/")

    assert response.status_code == 404
    assert headings(response) == ["Страница не найдена"]


def test_sections_regions_and_tags_are_named_in_the_readers_language(client, db):
    """Their Russian names where an editor gave one, the English name where not."""
    politics = SectionFactory(slug="politics", name_en="Politics", name_ru="Политика")
    georgia = RegionFactory(slug="georgia", name_en="Georgia", name_ru="Грузия")
    courts = TagFactory(slug="courts", name_en="Courts", name_ru="Суды")
    untranslated = TagFactory(slug="water", name_en="Water")
    story = ArticleFactory(
        language="ru", section=politics, regions=[georgia], tags=[courts, untranslated]
    )

    article = visible_text(client.get(story.get_absolute_url()))
    assert all(name in article for name in ["Политика", "Грузия", "Суды", "Water"])
    assert not any(name in article for name in ["Politics", "Georgia", "Courts"])
    for path, russian in [
        ("/ru/section/politics/", "Политика"),
        ("/ru/region/georgia/", "Грузия"),
        ("/ru/tag/courts/", "Суды"),
    ]:
        page = visible_text(client.get(path))
        assert russian in page, path
    assert "Politics" in visible_text(client.get("/section/politics/"))
