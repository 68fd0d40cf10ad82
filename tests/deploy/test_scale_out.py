"""Scale-out: two app servers share one site (docs/deployment.md#what-to-add-at-each-size).

Two gunicorns (A and B) with the production settings, on PostgreSQL (this test run's database),
a throwaway Redis of their own (cache, page cache, sessions' read cache) and a local S3 server
(moto) for media, and one `db_worker` process for both. Requests go to each server as a TLS proxy
in front would send them (`X-Forwarded-Proto: https`).

PostgreSQL only: processes cannot share the in-memory SQLite database of a test run.
"""

import io
import logging
import signal
import sys
import time
import urllib.request
from urllib.parse import urlsplit

import boto3
import pytest
import redis
from django.db import connection
from django_tasks_db.models import DBTaskResult
from moto.server import ThreadedMotoServer
from PIL import Image as PillowImage

from newsroom.models import Article, Image
from tests.conftest import PASSWORD
from tests.deploy.production import (
    SharedDatabase,
    browser,
    environment,
    post_form,
    server_password,
)
from tests.deploy.servers import ROOT, Process, app_server, redis_server
from tests.factories import ArticleFactory, jpeg_bytes
from tests.html import form_data, pictures, visible_text

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = "newsroom-scale-media"


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory, var_dir):
    """Redis, S3, two app servers and a task worker, all stopped at the end, whatever
    happened."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (DATABASE_URL): app servers in other processes share the "
            "database, which the in-memory SQLite test database cannot be"
        )
    directory = tmp_path_factory.mktemp("scale")
    processes = []
    moto = None
    try:
        with django_db_blocker.unblock():
            database = SharedDatabase(directory)
        cache = redis_server(directory)
        processes.append(cache)
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        host, port = moto.get_host_and_port()
        s3_endpoint = f"http://{host}:{port}"
        boto3.client(
            "s3",
            endpoint_url=s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_bucket(Bucket=BUCKET)

        env = environment(
            var_dir,
            database.url,
            REDIS_URL=cache.url,
            MEDIA_S3_BUCKET=BUCKET,
            AWS_S3_ENDPOINT_URL=s3_endpoint,
            AWS_S3_REGION_NAME="us-east-1",
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            AWS_EC2_METADATA_DISABLED="true",
        )
        worker = Process(
            "task worker",
            [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay"],
            directory / "worker.log",
            env=env,
            cwd=ROOT,
            stop_signal=signal.SIGINT,
        )
        processes.append(worker)
        servers = {name: app_server(name, directory, env, workers=1) for name in ("A", "B")}
        processes.extend(servers.values())
        for server in servers.values():
            server.wait_for(f"{server.url}/healthz")
        yield type(
            "Site",
            (),
            {
                "a": servers["A"],
                "b": servers["B"],
                "worker": worker,
                "redis": redis.Redis.from_url(cache.url),
                "s3_endpoint": s3_endpoint,
                "processes": processes,
            },
        )
    finally:
        for process in reversed(processes):
            process.stop()
        if moto is not None:
            moto.stop()


@pytest.fixture(autouse=True)
def fresh_site(site):
    """Each test starts with empty caches: the database is emptied after each test behind the
    servers' backs."""
    site.redis.flushall()
    yield
    for process in site.processes:
        assert process.running(), process.tail()


def log_in(server, user):
    """Log in through the server's form, as a reader does."""
    server_password(user)
    reader = browser(server)
    page = reader.get("/accounts/login/")
    assert page.status == 200
    data = post_form(page)
    data.update({"login": [user.email], "password": [PASSWORD]})
    response = reader.post("/accounts/login/", data=data)
    assert response.status == 302, visible_text(response)[:1000]
    assert "sessionid" in reader.cookies and "newsroom_signed_in" in reader.cookies
    return reader


def on(server, reader):
    """The same browser (its cookies) pointed at another server."""
    moved = browser(server)
    moved.cookies = reader.cookies
    return moved


def admin_post(reader, path, data=None, files=None):
    """Submit the admin form at `path` as the page shows it, with `data` changed."""
    form = reader.get(path)
    assert form.status == 200, (path, form.status)
    fields = {
        name: values
        for name, values in form_data(form, _admin_form_id(form)).items()
        if name not in (files or {})
    }
    fields.update(data or {})
    return reader.post(path, data=fields, files=files)


def _admin_form_id(page):
    for form_id in ("changelist-form", "image_form"):
        if f'id="{form_id}"' in page.text:
            return form_id
    return None


def test_a_session_made_on_one_server_is_valid_on_the_other(site, member):
    on_a = log_in(site.a, member)

    on_b = on(site.b, on_a)
    account = on_b.get("/membership/account/")
    assert account.status == 200
    assert member.email in visible_text(account)
    assert "private" in account["Cache-Control"]

    # Logging out on B ends the session on A too.
    kept = browser(site.a)
    kept.cookies = dict(on_a.cookies)
    page = on_b.get("/accounts/logout/")
    assert on_b.post("/accounts/logout/", data=post_form(page)).status == 302
    assert "sessionid" not in on_b.cookies
    assert kept.get("/membership/account/").status == 302


def upload(reader, colour):
    return admin_post(
        reader,
        "/admin/newsroom/image/add/",
        data={
            "alt": [f"A valley in {colour}"],
            "credit": ["Tamar Photographer"],
            "ppoi": ["0.5x0.5"],
        },
        files={"file": (f"valley-{colour}.jpg", jpeg_bytes(640, 427, colour), "image/jpeg")},
    )


def wait_for_renditions(alt, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        image = Image.objects.filter(alt=alt).first()
        if image is not None and image.renditions:
            return image
        time.sleep(0.2)
    raise AssertionError(f"the worker built no rendition of {alt!r} within {timeout} s")


def wait_for_tasks(path, count, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        results = list(DBTaskResult.objects.filter(task_path=path, finished_at__isnull=False))
        if len(results) >= count:
            return results
        time.sleep(0.2)
    raise AssertionError(f"{count} tasks {path} did not finish within {timeout} s")


def test_pictures_uploaded_to_either_server_are_rendered_by_one_worker_and_served_by_the_other(
    site, editor
):
    on_a = log_in(site.a, editor)
    on_b = on(site.b, on_a)
    assert on_b.get("/admin/").status == 200  # the session made on A

    assert upload(on_a, (40, 90, 140)).status == 302
    assert upload(on_b, (140, 90, 40)).status == 302

    # One worker built the renditions of both uploads.
    from_a = wait_for_renditions("A valley in (40, 90, 140)")
    from_b = wait_for_renditions("A valley in (140, 90, 40)")
    built = wait_for_tasks("newsroom.tasks.build_renditions", count=2)
    assert sorted(result.args_kwargs["args"][0] for result in built) == [from_a.pk, from_b.pk]
    assert {result.status for result in built} == {"SUCCESSFUL"}
    assert len({worker for result in built for worker in result.worker_ids}) == 1

    # A story showing the picture uploaded through A, read on B: its renditions come from the
    # bucket, whose origin the page's CSP allows, and the bucket serves them.
    story = ArticleFactory(headline="The valley in spring", hero_image=from_a)
    page = browser(site.b).get(story.get_absolute_url())
    assert page.status == 200, page.status
    hero = pictures(page, within="figure")[0]
    urls = [
        entry.strip().rsplit(" ", 1)[0]
        for source in hero.sources
        for entry in source["srcset"].split(",")
    ]
    assert urls and all(url.startswith(f"{site.s3_endpoint}/{BUCKET}/media/") for url in urls)
    assert site.s3_endpoint in page["Content-Security-Policy"]
    with urllib.request.urlopen(urls[0], timeout=10) as fetched:
        data = fetched.read()
    assert PillowImage.open(io.BytesIO(data)).format in {"AVIF", "WEBP", "JPEG"}
    assert urlsplit(urls[0]).path.endswith((".avif", ".webp", ".jpg", ".jpeg"))


def test_a_story_published_through_one_server_shows_at_once_on_the_other(site, editor):
    standing = ArticleFactory(headline="Floods close the mountain road", hero_image=None)
    draft = ArticleFactory(
        headline="The pass reopens", status=Article.Status.DRAFT, hero_image=None
    )
    reader_a = browser(site.a)
    first = reader_a.get("/")
    assert "Floods close the mountain road" in visible_text(first)
    assert "The pass reopens" not in visible_text(first)
    # A is serving its home page from the shared cache: a change made behind the app's back
    # (no save, so no purge) does not show.
    Article.objects.filter(pk=standing.pk).update(headline="Floods close the valley road")
    assert reader_a.get("/").content == first.content

    on_b = log_in(site.b, editor)
    published = admin_post(
        on_b,
        "/admin/newsroom/article/",
        data={"action": ["publish_now"], "_selected_action": [str(draft.pk)]},
    )
    assert published.status == 302
    draft.refresh_from_db()
    assert draft.is_published

    home = visible_text(reader_a.get("/"))
    assert "The pass reopens" in home
    assert "Floods close the valley road" in home  # every page was purged, on every server
    assert reader_a.get(draft.get_absolute_url()).status == 200
