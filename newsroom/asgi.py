import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
# On SQLite a web request waits at most 3 s for a write lock (newsroom.settings).
if not os.environ.get("SQLITE_TIMEOUT", "").strip():
    os.environ["SQLITE_TIMEOUT"] = "3"
application = get_asgi_application()

from newsroom.checks import warn_at_startup  # noqa: E402 (needs the apps loaded above)

warn_at_startup()
