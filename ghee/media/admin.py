"""The media library in the dashboard: a grid of assets, upload, alt text, usage.

- **Grid**: thumbnails (images; a badge with the extension for other types), type, size,
  pixels, alt text and how many items use each asset; search, filters, paging and the
  delete action as in any admin list. A page costs a fixed number of queries (the count,
  the page with its organizations, one query for the usage of the whole page).
- **Upload** (the list's "Add" button): a file and its alt text, through the same service
  and checks as ``POST /v2/media/`` (``services.add_upload``); the same bytes again open
  the existing asset.
- **Change page**: the preview, the alt text (the one thing edited) and the items using it.
- **Which items use an asset** comes from the content app through ``ghee.media.usage``
  (media may not import content).

Rows are limited per organization in ``get_queryset`` and the upload's organization
choices come from ``formfield_for_foreignkey``: the hooks an organization-scoping mixin
(``OrganizationScopedAdmin``) overrides, so adding it in front of ``admin.ModelAdmin``
scopes the whole library.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from ghee.accounts.admin_scoping import OrganizationScopedAdmin
from ghee.media.models import MediaAsset
from ghee.media.services import MediaImportError, add_upload, delete_asset
from ghee.media.usage import usages_for


class UploadForm(forms.Form):
    file = forms.FileField(help_text="An image, SVG, PDF, video, audio or office document.")
    alt_text = forms.CharField(
        max_length=MediaAsset._meta.get_field("alt_text").max_length,
        required=False,
        label="Alt text",
        help_text="Describes the image for people who cannot see it.",
    )


@admin.register(MediaAsset)
class MediaAssetAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    list_display = ["filename", "organization", "content_type", "file_size", "created_at"]
    list_filter = ["organization", "content_type"]
    list_select_related = ["organization"]
    list_per_page = 48
    search_fields = ["file", "source_url", "alt_text", "sha256"]
    fields = [
        "preview",
        "alt_text",
        "used_by",
        "organization",
        "link",
        "content_type",
        "file_size",
        "dimensions",
        "source_url",
        "checksum",
        "created_at",
    ]
    # Everything but the alt text is what the file is: shown, never edited.
    readonly_fields = [name for name in fields if name != "alt_text"]
    change_list_template = "admin/media/mediaasset/change_list.html"

    class Media:
        css = {"all": ["media/library.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Media library", **(extra_context or {})})

    def get_changelist_instance(self, request):
        """The page's assets, each with ``usages`` (one query for the whole page)."""
        changelist = super().get_changelist_instance(request)
        assets = list(changelist.result_list)
        usages = usages_for(assets)
        for asset in assets:
            asset.usages = usages.get(asset.id, [])
        changelist.result_list = assets
        return changelist

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Another asset is added by uploading a file (the list's "Upload a file"), not here.
        extra = {"show_save_and_add_another": False, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    # --- Upload -------------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form_class = self.upload_form(request)
        form = form_class(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                asset, created = add_upload(
                    form.cleaned_data["organization"].id,
                    upload,
                    upload.name,
                    alt=form.cleaned_data["alt_text"],
                )
            except MediaImportError as exc:
                form.add_error("file", str(exc))
            else:
                verb = "Uploaded" if created else "Already in the library:"
                self.message_user(request, f"{verb} {asset.filename}", messages.SUCCESS)
                if created:
                    self.log_addition(request, asset, [{"added": {}}])
                return HttpResponseRedirect(self._changelist_url())
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Upload a file",
            "form": form,
            "media": self.media + form.media,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/media/mediaasset/upload.html", context)

    def upload_form(self, request) -> type[UploadForm]:
        """The upload form, its organization choices from ``formfield_for_foreignkey``."""
        organization = self.formfield_for_foreignkey(
            MediaAsset._meta.get_field("organization"), request
        )
        choices = organization.queryset
        if choices.count() == 1:
            organization.initial = choices.first()
        return type("UploadForm", (UploadForm,), {"organization": organization})

    def _changelist_url(self) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")

    # --- Columns and fields -------------------------------------------------------------------

    @admin.display(description="Preview")
    def preview(self, asset: MediaAsset):
        if not asset.is_image:
            return "—"
        return format_html(
            '<img class="media-preview" src="{}" alt="{}">', asset.url, asset.alt_text
        )

    @admin.display(description="Used by")
    def used_by(self, asset: MediaAsset):
        usages = usages_for([asset]).get(asset.id, [])
        if not usages:
            return "No item uses this file."
        return format_html(
            '<ul class="media-usages">{}</ul>',
            format_html_join(
                "",
                "<li>{}</li>",
                ((_usage_html(usage),) for usage in usages),
            ),
        )

    @admin.display(description="URL")
    def link(self, asset: MediaAsset):
        return format_html('<a href="{0}">{0}</a>', asset.url)

    @admin.display(description="SHA-256")
    def checksum(self, asset: MediaAsset) -> str:
        return asset.sha256

    @admin.display(description="Size", ordering="size")
    def file_size(self, asset: MediaAsset) -> str:
        return filesizeformat(asset.size)

    @admin.display(description="Pixels")
    def dimensions(self, asset: MediaAsset) -> str:
        return f"{asset.width} x {asset.height}" if asset.is_image else "—"

    def delete_model(self, request, obj):
        delete_asset(obj)

    def delete_queryset(self, request, queryset):
        for asset in queryset:
            delete_asset(asset)


def _usage_html(usage):
    where = ", ".join(usage.fields)
    if usage.locales:
        where += f" ({', '.join(usage.locales)})"
    if usage.url:
        return format_html('<a href="{}">{}</a>: {}', usage.url, usage.label, where)
    return format_html("{}: {}", usage.label, where)
