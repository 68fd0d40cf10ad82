"""The migrations say what the models say: a model changed without its migration fails here, not
on a newsroom's server at its next `migrate`."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:
        pytest.fail(
            f"Models changed without a migration (manage.py makemigrations):\n{out.getvalue()}"
        )
