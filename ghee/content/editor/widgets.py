"""Widgets the item form needs beyond Django's own: WYSIWYG, color, media and references.

Every widget works as a plain form input without JavaScript; scripts only make it nicer
(the rich-text toolbar, a color picker next to the text, a search box for references).
The dashboard sends a Content-Security-Policy without inline scripts or styles, so all
behaviour lives in static files.
"""

from django import forms
from django.urls import reverse

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif")


class RichTextWidget(forms.Textarea):
    """A textarea that ``content/wysiwyg.js`` turns into django-prose-editor's editor.

    The editor's assets come with the django-prose-editor wheel (ProseMirror/Tiptap built
    into ``django_prose_editor/editor.js``); ``wysiwyg.js`` imports it by a relative path,
    so no import map (an inline script the CSP would refuse) is needed. Without
    JavaScript the field is an HTML textarea.
    """

    def __init__(self, attrs=None):
        super().__init__({"data-ghee-wysiwyg": "1", "rows": 8, **(attrs or {})})

    class Media:
        css = {
            "all": (
                "django_prose_editor/material-icons.css",
                "django_prose_editor/editor.css",
                "django_prose_editor/overrides.css",
            )
        }
        js = (forms.Script("content/wysiwyg.js", type="module"),)


class ColorWidget(forms.TextInput):
    """``#rrggbb`` as text (so a field can be empty); the script adds a color picker."""

    def __init__(self, attrs=None):
        super().__init__(
            {
                "data-ghee-color": "1",
                "placeholder": "#rrggbb",
                "size": 9,
                "maxlength": 7,
                **(attrs or {}),
            }
        )


class MediaWidget(forms.URLInput):
    """A URL, a file to upload instead (``<name>__upload``), and a preview of the current
    media. The upload is stored by ``editor.services.store_upload`` before the write."""

    template_name = "admin/content/item/widgets/media.html"

    def __init__(self, attrs=None):
        super().__init__({"class": "vURLField", "placeholder": "https://...", **(attrs or {})})

    def get_context(self, name, value, attrs):
        if isinstance(value, tuple):  # submitted: (url, upload)
            value = value[0]
        context = super().get_context(name, value, attrs)
        url = value or ""
        context["widget"].update(
            upload_name=f"{name}__upload",
            preview=url if url.lower().split("?")[0].endswith(IMAGE_SUFFIXES) else "",
            url=url,
        )
        return context

    def value_from_datadict(self, data, files, name):
        return data.get(name), files.get(f"{name}__upload")


def admin_select2_media() -> forms.Media:
    """Django admin's own select2 and its autocomplete initialiser (shipped with Django)."""
    return forms.Media(
        js=(
            "admin/js/vendor/jquery/jquery.min.js",
            "admin/js/vendor/select2/select2.full.min.js",
            "admin/js/jquery.init.js",
            "admin/js/autocomplete.js",
        ),
        css={"screen": ("admin/css/vendor/select2/select2.min.css", "admin/css/autocomplete.css")},
    )


class ReferenceMixin:
    """A select whose options are searched on the server (Django admin's autocomplete
    script), listing only the chosen items; ``choices`` are ``(id, label)`` pairs."""

    def __init__(self, collection_id: int, attrs=None, choices=()):
        url = reverse("admin:content_item_autocomplete", args=[collection_id])
        super().__init__(
            {
                "class": "admin-autocomplete",
                "data-ajax--cache": "true",
                "data-ajax--delay": 250,
                "data-ajax--type": "GET",
                "data-ajax--url": url,
                "data-theme": "admin-autocomplete",
                "data-allow-clear": "true",
                "data-placeholder": "Search items",
                **(attrs or {}),
            },
            choices,
        )

    @property
    def media(self):
        return admin_select2_media()


class ReferenceSelect(ReferenceMixin, forms.Select):
    pass


class ReferenceSelectMultiple(ReferenceMixin, forms.SelectMultiple):
    pass
