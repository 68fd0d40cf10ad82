"""Forms for newsroom content."""

from django import forms
from django.core.files.uploadedfile import UploadedFile

from .images import clean_upload, use_stored_copy
from .models import Image


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
