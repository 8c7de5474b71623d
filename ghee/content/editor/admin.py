"""The content editor: Django admin views for a collection's items (``/admin/content/item/``).

Items are not a model form: their fields come from the collection's schema, and saving
is an asynchronous write. So ``ItemAdmin`` replaces the model admin's URLs with its own
views (``get_urls``, as Django's docs and Wagtail's ``ModelViewSet`` do): a collection
chooser, the item list, the item form, delete, the reference search and the job outcome.

Scoping: every lookup goes through ``get_queryset`` (items) and the registered
``CollectionAdmin.get_queryset`` (collections), so an organization-scoping mixin such as
``ghee.accounts.admin_scoping.OrganizationScopedAdmin`` added to both limits every page.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from ghee.accounts.admin_scoping import OrganizationScopedAdmin
from ghee.content.editor import listing, services
from ghee.content.editor.forms import ItemForms, build_forms
from ghee.content.models import Collection, Item
from ghee.content.schema.cache import schema_cache

EDIT_ACTIONS = ("draft", "publish", "unpublish")
AUTOCOMPLETE_PAGE = 20


class ItemAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    """Items per collection; see the module docstring."""

    def collections(self, request):
        """The collections this user sees (the collection admin's queryset)."""
        return self.admin_site.get_model_admin(Collection).get_queryset(request)

    def get_urls(self):
        view = self.admin_site.admin_view
        name = "content_item_"
        return [
            path("", view(self.changelist_view), name=f"{name}changelist"),
            path("add/", view(self.changelist_view), name=f"{name}add"),
            path("jobs/<int:job_id>/", view(self.job_view), name=f"{name}job"),
            path("<int:collection_id>/", view(self.items_view), name=f"{name}list"),
            path("<int:collection_id>/add/", view(self.edit_view), name=f"{name}create"),
            path(
                "<int:collection_id>/search/",
                view(self.autocomplete_view),
                name=f"{name}autocomplete",
            ),
            path("<int:collection_id>/<int:item_id>/", view(self.edit_view), name=f"{name}edit"),
            path(
                "<int:collection_id>/<int:item_id>/delete/",
                view(self.delete_item_view),
                name=f"{name}remove",
            ),
        ]

    # --- helpers -------------------------------------------------------------------------

    def _context(self, request, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            **extra,
        }

    def _collection(self, request, collection_id: int):
        collection = (
            self.collections(request)
            .select_related("organization")
            .filter(pk=collection_id)
            .first()
        )
        if collection is None:
            raise Http404("No such collection.")
        schema = schema_cache.get(collection.organization_id, collection.key)
        if schema is None:
            raise Http404("No such collection.")
        return collection, schema

    def _item(self, request, collection, item_id: int) -> Item:
        item = (
            self.get_queryset(request)
            .filter(pk=item_id, collection=collection, deleted_at__isnull=True)
            .first()
        )
        if item is None:
            raise Http404("No such item (it may have been deleted).")
        return item

    def _check(self, allowed: bool) -> None:
        if not allowed:
            raise PermissionDenied

    # --- pages ---------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        """Choose a collection: each with its number of items (one aggregate query)."""
        self._check(self.has_view_or_change_permission(request))
        collections = listing.collections_with_counts(
            self.collections(request).select_related("organization")
        )
        context = self._context(request, "Edit content", collections=collections)
        return TemplateResponse(request, "admin/content/item/collections.html", context)

    def items_view(self, request, collection_id: int):
        self._check(self.has_view_or_change_permission(request))
        collection, schema = self._collection(request, collection_id)
        locales = list(schema.locales.codes) or [""]
        search = request.GET.get("q", "")
        status = request.GET.get("status", "")
        page = listing.items_page(
            collection, locales, search=search, status=status, page=request.GET.get("p", 1)
        )
        context = self._context(
            request,
            collection.name,
            collection=collection,
            page=page,
            page_range=page.paginator.get_elided_page_range(page.number),
            search=search,
            status=status,
            status_filters=listing.STATUS_FILTERS,
            has_locales=bool(schema.locales.codes),
            can_add=self.has_add_permission(request),
        )
        return TemplateResponse(request, "admin/content/item/list.html", context)

    def edit_view(self, request, collection_id: int, item_id: int | None = None):
        collection, schema = self._collection(request, collection_id)
        item = self._item(request, collection, item_id) if item_id is not None else None
        if item is None:
            self._check(self.has_add_permission(request))
        else:
            self._check(self.has_view_or_change_permission(request))
        stored = services.stored_values(item.pk) if item else None
        if request.method == "POST":
            self._check(self.has_change_permission(request) if item else True)
            action = request.POST.get("action", "")
            if item is not None and action == "unpublish":
                return self._after_job(request, services.unpublish_item, schema, item)
            if action not in ("draft", "publish"):
                messages.error(request, "Choose Save draft or Publish.")
                return redirect(request.path)
            forms, job_id = self._save(request, collection, schema, item, stored, action)
            if job_id is not None:
                return redirect("admin:content_item_job", job_id)
        else:
            forms = build_forms(
                schema,
                stored=stored,
                references=self._reference_choices(request, schema, stored, None),
            )
        return self._render_form(request, collection, schema, item, forms)

    def _save(self, request, collection, schema, item, stored, action):
        data, upload_errors = services.data_with_uploads(
            collection.organization_id, build_forms(schema).media_inputs(), request
        )
        forms = build_forms(
            schema,
            data=data,
            files=request.FILES,
            stored=stored,
            references=self._reference_choices(request, schema, stored, data),
        )
        valid = forms.is_valid()
        for name, message in upload_errors.items():
            forms.add_input_error(name, message)
            valid = False
        if not valid:
            return forms, None
        values = forms.values(stored)
        try:
            job_id = services.save_item(
                schema,
                services.EditorUser.of(request.user),
                values,
                action=action,
                item_id=item.pk if item else None,
            )
        except services.SaveRefused as exc:
            for message in forms.add_api_errors(exc.errors):
                messages.error(request, message)
            return forms, None
        return forms, job_id

    def _after_job(self, request, service, schema, item):
        try:
            job_id = service(schema, services.EditorUser.of(request.user), item.pk)
        except services.SaveRefused as exc:
            messages.error(request, "; ".join(str(m) for m in exc.errors.get("", [])))
            return redirect(request.path)
        return redirect("admin:content_item_job", job_id)

    def _reference_choices(self, request, schema, stored, data) -> dict:
        """``{field key: [(id, label)]}``: the items a reference input holds (stored or
        submitted), each with its label; the autocomplete finds the others."""
        by_field: dict[str, list[int]] = {}
        for field in schema.fields.values():
            if not field.is_reference or field.reference_collection_id is None:
                continue
            ids: list[int] = []
            for values in (stored or {}).values():
                value = values.get(field.key)
                ids += value if isinstance(value, list) else [value]
            if data is not None:
                for name, raw in data.lists():
                    if name.endswith(f"-{field.key}"):
                        ids += [int(v) for v in raw if v.isdigit() and len(v) < 19]
            by_field[field.key] = [pk for pk in dict.fromkeys(ids) if isinstance(pk, int)]
        if not by_field:
            return {}
        targets = {
            c.pk: c
            for c in self.collections(request).filter(
                pk__in={schema.fields[k].reference_collection_id for k in by_field}
            )
        }
        choices = {}
        for key, ids in by_field.items():
            target = targets.get(schema.fields[key].reference_collection_id)
            labels = listing.item_labels(target, ids) if target else {}
            choices[key] = [(pk, labels.get(pk, f"#{pk}")) for pk in ids]
        return choices

    def _render_form(self, request, collection, schema, item, forms: ItemForms):
        media = self.media
        for form in forms.all_forms:
            media += form.media
        title = f"Edit {collection.name} #{item.pk}" if item else f"Add to {collection.name}"
        versions = services.version_states(item.pk) if item else {}
        context = self._context(
            request,
            title,
            collection=collection,
            item=item,
            forms=forms,
            locale_tabs=[
                (locale, forms.by_locale[locale], versions.get(locale)) for locale in forms.locales
            ],
            has_locales=bool(schema.locales.codes),
            media=media,
            can_delete=item is not None and self.has_delete_permission(request),
            can_change=self.has_change_permission(request) if item else True,
            jobs=services.recent_jobs(item) if item else [],
        )
        return TemplateResponse(request, "admin/content/item/edit.html", context)

    def delete_item_view(self, request, collection_id: int, item_id: int):
        self._check(self.has_delete_permission(request))
        collection, schema = self._collection(request, collection_id)
        item = self._item(request, collection, item_id)
        if request.method == "POST":
            return self._after_job(request, services.delete_item, schema, item)
        labels = listing.item_labels(collection, [item.pk])
        context = self._context(
            request, "Delete item", collection=collection, item=item, label=labels[item.pk]
        )
        return TemplateResponse(request, "admin/content/item/delete.html", context)

    def autocomplete_view(self, request, collection_id: int):
        """Select2's JSON: ``{"results": [{"id", "text"}], "pagination": {"more"}}``."""
        self._check(self.has_view_or_change_permission(request))
        collection, schema = self._collection(request, collection_id)
        page = listing.items_page(
            collection,
            list(schema.locales.codes) or [""],
            search=request.GET.get("term", ""),
            page=request.GET.get("page", 1),
        )
        results = [{"id": row.id, "text": f"{row.label or 'Item'} (#{row.id})"} for row in page]
        return JsonResponse({"results": results, "pagination": {"more": page.has_next()}})

    def job_view(self, request, job_id: int):
        """A save's outcome in words; refreshes itself until the worker is done."""
        self._check(self.has_view_or_change_permission(request))
        job = services.job_for(self.collections(request), job_id)
        if job is None:
            raise Http404("No such job.")
        outcome = services.describe_job(job)
        context = self._context(
            request,
            f"Job {job.pk}: {outcome.headline}",
            job=job,
            outcome=outcome,
            list_url=reverse("admin:content_item_list", args=[job.collection_id]),
        )
        return TemplateResponse(request, "admin/content/item/job.html", context)

    def has_module_permission(self, request):
        return self.has_view_or_change_permission(request)
