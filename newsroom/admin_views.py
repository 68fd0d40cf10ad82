"""The picture library as JSON, for the body editor's "Insert figure" dialog.

Served under the admin (`NewsroomAdminSite.get_urls`): only staff reach it, with the admin's
CSP, CSRF protection and no caching; what each person may do is checked here, on the server, as
the admin checks it (viewing needs `newsroom.view_image`, uploading `newsroom.add_image`). An
upload goes through the admin's own `ImageForm`, so it is cleaned exactly like one made there.

Also the admin index's button that purges the page cache (newsroom.page_cache).
"""

import datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import edge, page_cache
from .forms import ImageForm
from .models import Image

PAGE_SIZE = 24
MAX_QUERY_LENGTH = 200


class FigureUploadForm(ImageForm):
    """The library's upload form; a picture placed in a story must say whose it is."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credit"].required = True


def image_json(image):
    # The small card rendition once the task has built it; the cleaned original until then.
    thumbnail = image.file.card320 if "card320" in (image.renditions or ()) else image.file.url
    return {
        "id": image.pk,
        "alt": image.alt,
        "credit": image.credit,
        "licence": image.licence,
        "width": image.width,
        "height": image.height,
        "thumbnail": thumbnail,
        "created_at": image.created_at.isoformat(),
    }


def _error(message, status):
    return JsonResponse({"error": str(message)}, status=status)


def _may_view(user):
    # As ModelAdmin.has_view_permission: the right to change implies the right to look.
    return user.has_perm("newsroom.view_image") or user.has_perm("newsroom.change_image")


def _uploaded_on(value):
    """The days a `date` filter covers: "2026-05-14" one day, "2026-05" the month."""
    try:
        if len(value) == 7:
            start = parse_date(f"{value}-01")
            if start:
                end = (start + datetime.timedelta(days=31)).replace(day=1)
                return start, end
        elif day := parse_date(value):
            return day, day + datetime.timedelta(days=1)
    except ValueError:  # well-formed but impossible, like 2026-02-30
        pass
    return None


@require_http_methods(["GET", "POST"])
def image_list(request):
    """GET: search the library (`q` words in alt text, credit or licence; `date`; `page`).

    POST: upload a picture (multipart: file, alt, credit, licence): 201 with the image, or 400
    with the form's errors by field.
    """
    if request.method == "POST":
        return _upload(request)
    if not _may_view(request.user):
        return _error(_("You may not view the picture library."), 403)

    images = Image.objects.order_by("-created_at", "-pk")
    # PostgreSQL text cannot hold NUL, and no picture's text contains one.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:MAX_QUERY_LENGTH]
    for word in query.split():
        images = images.filter(
            Q(alt__icontains=word) | Q(credit__icontains=word) | Q(licence__icontains=word)
        )
    if date := request.GET.get("date", "").strip():
        days = _uploaded_on(date)
        if days is None:
            return _error(_("Give the date as YYYY-MM-DD or YYYY-MM."), 400)
        images = images.filter(created_at__date__gte=days[0], created_at__date__lt=days[1])

    try:
        number = int(request.GET.get("page") or 1)
    except ValueError:
        return _error(_("The page must be a number."), 400)
    paginator = Paginator(images, PAGE_SIZE)
    if number < 1 or number > max(paginator.num_pages, 1):
        return _error(_("There is no such page."), 404)
    page = paginator.page(number)
    return JsonResponse(
        {
            "results": [image_json(image) for image in page],
            "count": paginator.count,
            "page": number,
            "pages": paginator.num_pages,
            "has_next": page.has_next(),
        }
    )


@require_GET
def image_detail(request, pk):
    if not _may_view(request.user):
        return _error(_("You may not view the picture library."), 403)
    image = Image.objects.filter(pk=pk).first()
    if image is None:
        return _error(_("There is no such picture."), 404)
    return JsonResponse(image_json(image))


def _upload(request):
    if not request.user.has_perm("newsroom.add_image"):
        return _error(_("You may not add pictures to the library."), 403)
    data = request.POST.copy()
    data.setdefault("ppoi", "0.5x0.5")  # the focal point can be set in the library later
    form = FigureUploadForm(data, request.FILES)
    if not form.is_valid():
        errors = {field: list(messages) for field, messages in form.errors.items()}
        return JsonResponse({"errors": errors}, status=400)
    image = form.save(commit=False)
    image.uploaded_by = request.user
    image.save()
    return JsonResponse(image_json(image), status=201)


@require_POST
def purge_page_cache(request):
    """The admin index's "Purge the whole page cache" button, for those who may publish:
    every cached page is rendered afresh on its next request."""
    if not request.user.has_perm("newsroom.publish_article"):
        raise PermissionDenied
    page_cache.purge()
    if not settings.EDGE_PURGE_URLS:
        messages.success(
            request,
            _(
                "The page cache was purged: every page is rendered afresh. Caches in front of "
                "the site (a proxy, a CDN) catch up within %(seconds)s seconds."
            )
            % {"seconds": settings.PAGE_CACHE_SECONDS},
        )
    elif edge.purge():
        messages.warning(
            request,
            _(
                "The page cache was purged, but a cache in front of the site could not be "
                "reached (the log says why). It is tried again shortly, and catches up within "
                "%(seconds)s seconds at the latest."
            )
            % {"seconds": settings.PAGE_CACHE_SECONDS},
        )
    else:
        messages.success(
            request,
            _(
                "The page cache was purged: every page is rendered afresh, here and in the "
                "caches in front of the site."
            ),
        )
    return redirect("admin:index")
