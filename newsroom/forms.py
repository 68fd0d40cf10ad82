"""Forms for newsroom content."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from simple_history.utils import get_history_manager_for_model

from .images import clean_upload, use_stored_copy
from .models import Article, Image
from .search import QUERY_MAX_LENGTH, clean_query


def time_zone_note():
    """Said next to every date an editor types or reads."""
    return _("Times are in %(zone)s.") % {"zone": settings.TIME_ZONE}


class ImageForm(forms.ModelForm):
    """Add or change a picture in the library; a new file goes through `clean_upload()`.

    The file field is a plain FileField (with django-imagefield's preview and focal-point widget):
    Django's ImageField would decode the upload a second time with Pillow's global limits, refuse
    SVGs with a vaguer message, and cap the length of a file name that is thrown away anyway.
    """

    class Meta:
        model = Image
        fields = ["file", "ppoi", "alt", "credit", "licence"]
        field_classes = {"file": forms.FileField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].max_length = None  # the upload's name is never stored
        self._cleaned_upload = None

    def clean_file(self):
        file = self.cleaned_data.get("file")
        if isinstance(file, UploadedFile):
            self._cleaned_upload = clean_upload(file)
            return self._cleaned_upload.file
        return file  # unchanged on an edit, or cleared

    def save(self, commit=True):
        if self._cleaned_upload is not None:
            use_stored_copy(self.instance)
        return super().save(commit)


class ArticleForm(forms.ModelForm):
    """The admin's article form: the workflow's rules and the check against lost edits.

    `can_publish` is set by ArticleAdmin.get_form() for the person using the form: without it,
    "Published" is not a choice, so a crafted POST asking for it is refused like any invalid
    choice. The form carries the version the story had when it was opened; saving after someone
    else saved is refused with who and when, never silently overwritten (optimistic locking).
    """

    opened_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    can_publish = False

    class Meta:
        model = Article
        fields = [
            "headline",
            "slug",
            "standfirst",
            "body",
            "hero_image",
            "hero_caption",
            "hero_alt",
            "language",
            "translation_of",
            "section",
            "regions",
            "tags",
            "status",
            "published_at",
            "visibility",
            "public_from",
            "home_placement",
            "seo_title",
            "seo_description",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # Reverting to a revision edits a copy of the old row; the edit starts from the
            # version stored now, not the revision's.
            stored = Article.objects.filter(pk=self.instance.pk).values("version").first()
            self.fields["opened_version"].initial = (
                stored["version"] if stored else self.instance.version
            )
        for name in ("published_at", "public_from"):
            if name in self.fields:
                field = self.fields[name]
                field.help_text = f"{field.help_text} {time_zone_note()}".strip()
        if "status" in self.fields and not self.can_publish:
            self.fields["status"].choices = [
                choice
                for choice in self.fields["status"].choices
                if choice[0] != Article.Status.PUBLISHED
            ]

    def clean(self):
        cleaned_data = super().clean()
        stored = self._stored_row()
        if stored is not None:
            self._check_version(stored)
        if cleaned_data.get("status") != Article.Status.PUBLISHED:
            return cleaned_data
        if not self.can_publish:
            # Unreachable through the choices above; kept so that no other path can publish.
            raise ValidationError(_("You may not publish or schedule stories."), code="publish")
        if "published_at" in self.fields and not cleaned_data.get("published_at"):
            cleaned_data["published_at"] = timezone.now().replace(microsecond=0)
        # The publication checks are the model's (Article.clean), run after this.
        return cleaned_data

    def _stored_row(self):
        if self.instance.pk is None:
            return None
        rows = Article.objects.filter(pk=self.instance.pk)
        if not transaction.get_autocommit():
            # Held until the admin's transaction ends, so nobody saves between this check and
            # our save (the model checks again on save).
            rows = rows.select_for_update()
        return rows.values("version", "status").first()

    def _check_version(self, stored):
        opened = self.cleaned_data.get("opened_version")
        if opened is None:
            raise ValidationError(
                _(
                    "This form does not say which version of the story it edits. Open the story "
                    "again and make your changes there."
                ),
                code="no_version",
            )
        if opened != stored["version"]:
            raise ValidationError(self._conflict_message(), code="edit_conflict")
        self.instance._expected_version = opened

    def _conflict_message(self):
        latest = (
            get_history_manager_for_model(Article)
            .filter(id=self.instance.pk)
            .select_related("history_user")
            .order_by("-history_date", "-history_id")
            .first()
        )
        # Whole sentences for each case, so that translations can agree in gender and tense.
        if latest is None:
            saved = _("Someone else saved this story after you opened it.")
        else:
            details = {
                "who": str(latest.history_user or ""),
                "when": date_format(timezone.localtime(latest.history_date), "j E Y, H:i"),
                "zone": settings.TIME_ZONE,
            }
            if latest.history_user:
                saved = (
                    _("%(who)s saved this story at %(when)s (%(zone)s), after you opened it.")
                    % details
                )
            else:
                saved = (
                    _("Someone else saved this story at %(when)s (%(zone)s), after you opened it.")
                    % details
                )
        unsaved = _(
            "Your changes have not been saved: open the story again in a new tab to see theirs, "
            "then make your changes there."
        )
        return f"{saved} {unsaved}"


class ScheduleForm(forms.Form):
    """The time asked for by the admin's "Schedule…" action."""

    publish_at = forms.DateTimeField(
        label=_("Publish at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["publish_at"].help_text = time_zone_note()

    def clean_publish_at(self):
        publish_at = self.cleaned_data["publish_at"]
        if publish_at <= timezone.now():
            raise ValidationError(
                _("Choose a time in the future; to publish now, use “Publish now”."),
                code="past",
            )
        return publish_at


class SearchQueryField(forms.CharField):
    """What a reader types into the search box. Never refused: trimmed, cut to a sane
    length, without the NUL characters that no stored text holds (newsroom.search)."""

    def to_python(self, value):
        return clean_query(super().to_python(value))

    def bound_data(self, data, initial):
        # The box shows what was searched for, not what was sent.
        return self.to_python(data)


class SearchForm(forms.Form):
    """The search page's form (a GET form: its URL is the results page's)."""

    q = SearchQueryField(
        label=_("Search for"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "maxlength": QUERY_MAX_LENGTH}),
    )
    section = forms.ChoiceField(label=_("Section"), required=False)

    def __init__(self, data, *, sections):
        """`sections` is the list of sections to offer (the view reads them once)."""
        super().__init__(data)
        self.sections = {section.slug: section for section in sections}
        self.fields["section"].choices = [
            ("", _("All sections")),
            *((section.slug, section.name) for section in sections),
        ]

    def clean_section(self):
        return self.sections.get(self.cleaned_data["section"])
