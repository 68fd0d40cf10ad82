"""Purging the caches in front of the site (newsroom.edge) with the page cache.

A fake edge on 127.0.0.1 records the purges it receives. tests/deploy/test_nginx_edge.py does
the same against the shipped nginx configuration.
"""

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from newsroom import edge, page_cache
from newsroom.checks import check_edge_purge
from newsroom.models import Article
from tests.factories import ArticleFactory, TagFactory
from tests.html import visible_text
from tests.test_deploy_settings import PRODUCTION, manage

pytestmark = pytest.mark.django_db

SECRET = "s3cret-" * 6


def generation():
    return caches[page_cache.CACHE_ALIAS].get(page_cache.GENERATION)


class FakeEdge:
    """An HTTP server that takes purges: it records each one (with the app's page-cache
    generation at that moment) and answers `status`."""

    def __init__(self):
        self.purges = []
        self.status = 204
        edge_ = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                edge_.purges.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                        "generation": generation(),
                    }
                )
                self.send_response(edge_.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/purge"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_edge(settings):
    fake = FakeEdge()
    settings.EDGE_PURGE_URLS = [fake.url]
    settings.EDGE_PURGE_SECRET = SECRET
    yield fake
    fake.close()


@pytest.fixture
def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def database_tasks(settings):
    """The database task queue, as production has it: a retry waits in the queue."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def story():
    return ArticleFactory(headline="The dam that was never built")


@pytest.fixture
def draft():
    return ArticleFactory(headline="Snow closes the pass", status=Article.Status.DRAFT)


# Fixtures that make stories come before `fake_edge`: saving them with an edge configured would
# queue a purge for the commit of the test's own transaction, which never comes, and a second
# purge in the same transaction is not queued again.


def test_unpublishing_purges_the_edge_once_after_the_commit(
    story, fake_edge, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        story.unpublish()
        during = generation()
        assert fake_edge.purges == []  # nothing before the commit

    assert len(callbacks) >= 2
    [purge] = fake_edge.purges
    assert purge["path"] == "/purge"
    assert purge["headers"]["X-Newsroom-Purge-Secret"] == SECRET
    assert purge["headers"]["Content-Type"] == "application/json"
    assert json.loads(purge["body"]) == {"purge_everything": True}
    # The app's own after-commit purge came first: the edge, fetching the page again, gets
    # the page rendered from the committed rows, not one stored while the save was under way.
    assert purge["generation"] == generation() != during


def test_publishing_and_correcting_purge_the_edge(
    story, draft, fake_edge, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        draft.publish()
    with django_capture_on_commit_callbacks(execute=True):
        story.corrections.create(text="An earlier version misnamed the river.")

    assert len(fake_edge.purges) == 2


def test_one_save_that_changes_many_rows_purges_the_edge_once(
    story, fake_edge, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        story.headline = "The dam that was built after all"
        story.save()
        story.tags.add(TagFactory(), TagFactory())
        story.tags.clear()
        ArticleFactory(headline="Another story")

    assert len(fake_edge.purges) == 1


def test_a_rolled_back_change_purges_nothing_and_the_next_one_still_does(
    story, fake_edge, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            story.unpublish()
            raise RuntimeError("the save failed")
    assert fake_edge.purges == []

    with django_capture_on_commit_callbacks(execute=True):
        story.unpublish()
    assert len(fake_edge.purges) == 1


def test_without_edges_nothing_is_sent(
    story, fake_edge, settings, django_capture_on_commit_callbacks
):
    settings.EDGE_PURGE_URLS = []
    with django_capture_on_commit_callbacks(execute=True):
        story.unpublish()

    assert fake_edge.purges == []


@pytest.mark.parametrize("problem", ["down", "wrong secret"])
def test_an_edge_that_fails_never_breaks_a_save_and_is_tried_again_by_a_task(
    client,
    story,
    fake_edge,
    settings,
    database_tasks,
    caplog,
    closed_port,
    problem,
    django_capture_on_commit_callbacks,
):
    if problem == "down":
        settings.EDGE_PURGE_URLS = [f"http://127.0.0.1:{closed_port}/purge"]
        expected = "refused"
    else:
        fake_edge.status = 403
        expected = "it answered 403"
    url = settings.EDGE_PURGE_URLS[0]

    with django_capture_on_commit_callbacks(execute=True):
        story.unpublish()

    # Saved, and the app's own cache purged: the story is gone from its pages.
    assert Article.objects.get(pk=story.pk).status == Article.Status.DRAFT
    assert client.get(story.get_absolute_url()).status_code == 404
    assert f"The edge cache at {url} could not be purged" in caplog.text
    assert expected in caplog.text
    [retry] = DBTaskResult.objects.filter(task_path="newsroom.edge.purge_edge")
    assert retry.args_kwargs == {"args": [url, 1], "kwargs": {}}
    due = retry.run_after - timezone.now()
    assert timedelta(seconds=5) < due <= timedelta(seconds=edge.RETRY_DELAYS[0])


def test_the_retry_purges_an_edge_that_is_back(fake_edge, database_tasks):
    fake_edge.status = 503

    assert edge.purge_edge.call(fake_edge.url, 1) is False  # fails again: queued once more
    [later] = DBTaskResult.objects.filter(task_path="newsroom.edge.purge_edge")
    assert later.args_kwargs["args"] == [fake_edge.url, 2]

    fake_edge.status = 204
    assert edge.purge_edge.call(fake_edge.url, 2) is True
    assert len(fake_edge.purges) == 2
    assert DBTaskResult.objects.count() == 1  # nothing more queued


def test_the_retries_give_up_and_say_so(fake_edge, database_tasks, caplog):
    fake_edge.status = 503

    with pytest.raises(RuntimeError, match="could not be purged"):
        edge.purge_edge.call(fake_edge.url, len(edge.RETRY_DELAYS))

    assert not DBTaskResult.objects.exists()
    assert "giving up" in caplog.text


def test_a_redirecting_edge_is_a_failure(fake_edge):
    fake_edge.status = 302

    assert edge.post(fake_edge.url) == "it answered 302 Found"


def test_the_admin_purge_button_purges_the_edge_too(client, editor, fake_edge, closed_port):
    client.force_login(editor)

    response = client.post("/admin/newsroom/page-cache/purge/", follow=True)
    assert "here and in the caches in front of the site" in visible_text(response)
    assert len(fake_edge.purges) == 1

    fake_edge.status = 500
    response = client.post("/admin/newsroom/page-cache/purge/", follow=True)
    assert "a cache in front of the site could not be reached" in visible_text(response)


def test_edges_without_a_secret_are_a_deploy_warning(settings):
    settings.EDGE_PURGE_URLS = ["http://127.0.0.1:8081/purge"]
    settings.EDGE_PURGE_SECRET = ""
    [warning] = check_edge_purge()
    assert warning.id == "newsroom.W002"
    assert edge.post(settings.EDGE_PURGE_URLS[0]) == "EDGE_PURGE_SECRET is not set"

    settings.EDGE_PURGE_SECRET = SECRET
    assert check_edge_purge() == []


def test_a_purge_address_that_is_not_http_is_refused_at_start():
    result = manage("check", **PRODUCTION, EDGE_PURGE_URLS="127.0.0.1:8081/purge")

    assert result.returncode != 0
    assert "EDGE_PURGE_URLS must be http:// or https:// addresses" in result.stderr
