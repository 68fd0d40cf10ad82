import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
application = get_asgi_application()

from newsroom.checks import warn_at_startup  # noqa: E402 (needs the apps loaded above)

warn_at_startup()
