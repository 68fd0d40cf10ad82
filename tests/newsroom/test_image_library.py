"""The editors' picture library in the admin."""

import pytest

from tests.factories import ImageFactory
from tests.html import visible_text

pytestmark = pytest.mark.django_db


def test_library_lists_pictures_with_thumbnail_size_and_uploader(client, editor):
    image = ImageFactory(alt="Shepherds above Tusheti", credit="Nino Photographer", rendered=True)
    image.uploaded_by = editor
    image.save()
    client.force_login(editor)

    response = client.get("/admin/newsroom/image/")

    text = visible_text(response)
    assert response.status_code == 200
    assert "Shepherds above Tusheti" in text and "Nino Photographer" in text
    assert f"{image.width} × {image.height}" in text
    assert "KB" in text
    assert "editor@example.com" in text
    assert image.file.card320 in response.content.decode()


def test_library_is_searchable_by_credit_and_alt_text(client, editor):
    ImageFactory(alt="Vineyards in Kakheti", credit="Levan Photographer")
    ImageFactory(alt="Oil rigs off Baku", credit="Gunel Photographer")
    client.force_login(editor)

    by_credit = visible_text(client.get("/admin/newsroom/image/", {"q": "Levan"}))
    by_alt = visible_text(client.get("/admin/newsroom/image/", {"q": "rigs"}))

    assert "Vineyards in Kakheti" in by_credit and "Oil rigs off Baku" not in by_credit
    assert "Oil rigs off Baku" in by_alt and "Vineyards in Kakheti" not in by_alt


def test_file_size_is_recorded_when_the_file_changes():
    image = ImageFactory()
    assert image.file_size == image.file.size > 0
