"""Dashboard access by organization: a staff user sees and edits only their organizations' rows.

Every dashboard admin whose rows belong to an organization mixes in
``OrganizationScopedAdmin`` (and ``OrganizationScopedInline`` for its inlines) and names
the path from its model to the organization::

    @admin.register(Job)
    class JobAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
        organization_field = "organization"          # or "collection__organization"

For a superuser nothing changes: every organization, Django's own permissions. For any
other staff user the organizations they are a *member* of (``Membership``) decide:

- the list, the change/delete/history pages and actions only reach rows of those
  organizations; the URL of another organization's row answers as a row that does not
  exist (Django's "... doesn't exist. Perhaps it was deleted?" redirect), so ids reveal
  nothing;
- a member of a single organization sees no organization column in lists;
- foreign-key and many-to-many choices (an organization, a collection, ...) and the
  list's relation filters offer only rows of those organizations, and a save that would
  put a row in another organization is refused (403) even if a form were forged;
- permissions come from membership, not from per-user Django permissions: a member may
  view, add, change and delete what the admin lets anybody do (an admin narrows that by
  overriding ``has_*_permission``); a staff user with no membership sees nothing.

Models whose admin does not use the mixin (users, groups, django-axes' records) keep
Django's permissions: by default only superusers see them.
"""

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models

from ghee.accounts.models import Organization
from ghee.accounts.services import organization_ids_of

_CACHE_ATTRIBUTE = "_ghee_organization_ids"


def member_organization_ids(request) -> frozenset[int] | None:
    """The organizations whose rows ``request.user`` may reach; None means all (superuser).

    Looked up once per request (one query), whatever number of admins ask.
    """
    user = request.user
    if user.is_active and user.is_superuser:
        return None
    if not hasattr(request, _CACHE_ATTRIBUTE):
        ids = organization_ids_of(user) if user.is_active and user.is_staff else frozenset()
        setattr(request, _CACHE_ATTRIBUTE, ids)
    return getattr(request, _CACHE_ATTRIBUTE)


def organization_path(model, admin_site=admin.site) -> str | None:
    """The ORM path from ``model`` to its organization, or None when it has none.

    ``Organization`` itself is ``"pk"``; a model with an ``organization`` foreign key is
    ``"organization"``; otherwise the path its own scoped admin declares.
    """
    if model is Organization:
        return "pk"
    try:
        field = model._meta.get_field("organization")
    except FieldDoesNotExist:
        field = None
    if field is not None and field.is_relation and field.related_model is Organization:
        return "organization"
    try:
        model_admin = admin_site.get_model_admin(model)
    except NotRegistered:
        return None
    return getattr(model_admin, "organization_field", None)


def scope(queryset: models.QuerySet, path: str, request) -> models.QuerySet:
    """``queryset`` limited to the rows of the organizations ``request.user`` works in."""
    ids = member_organization_ids(request)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{path}__in": ids})


def organization_id_of(obj, path: str) -> int | None:
    """The id of the organization ``obj`` belongs to, following ``path`` (None if unset)."""
    if path == "pk":
        return obj.pk
    *hops, last = path.split("__")
    target = obj
    for hop in hops:
        target = getattr(target, hop, None)
        if target is None:
            return None
    return getattr(target, f"{last}_id", None)


def _may(request, organization_id: int | None) -> bool:
    """May a non-superuser reach a row of ``organization_id`` (None: no row yet)?"""
    ids = member_organization_ids(request)
    if not ids:
        return False
    return organization_id is None or organization_id in ids


class _ScopedChoices:
    """Foreign-key and many-to-many choices limited to the user's organizations."""

    def _scoped_choices(self, db_field, request, kwargs):
        if member_organization_ids(request) is None:
            return kwargs
        path = organization_path(db_field.related_model, self.admin_site)
        if path is not None:
            base = kwargs.get("queryset")
            if base is None:
                base = db_field.related_model._default_manager.all()
            kwargs["queryset"] = scope(base, path, request)
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs = self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class OrganizationScopedAdmin(_ScopedChoices):
    """ModelAdmin mixin: rows, choices and permissions follow the user's memberships.

    Put it before ``admin.ModelAdmin`` and set ``organization_field`` to the ORM path from
    the model to its organization (``"organization"``, ``"collection__organization"``;
    ``"pk"`` for ``Organization`` itself).
    """

    organization_field: str = "organization"

    def get_queryset(self, request):
        return scope(super().get_queryset(request), self.organization_field, request)

    def get_list_display(self, request):
        """A member of one organization needs no organization column: it is always theirs."""
        columns = super().get_list_display(request)
        ids = member_organization_ids(request)
        if ids is not None and len(ids) == 1 and self.organization_field in columns:
            return [column for column in columns if column != self.organization_field]
        return columns

    def get_list_filter(self, request):
        """Relation filters list only related rows the user can reach (not every org)."""
        filters = super().get_list_filter(request)
        if member_organization_ids(request) is None:
            return filters
        return [self._related_only(entry) for entry in filters]

    def _related_only(self, entry):
        if not isinstance(entry, str):
            return entry
        try:
            field = self.model._meta.get_field(entry)
        except FieldDoesNotExist:
            return entry
        if field.is_relation:
            return (entry, admin.RelatedOnlyFieldListFilter)
        return entry

    def get_changeform_initial_data(self, request):
        """A member of exactly one organization finds it chosen already."""
        initial = super().get_changeform_initial_data(request)
        ids = member_organization_ids(request)
        if self.organization_field == "organization" and ids is not None and len(ids) == 1:
            initial.setdefault("organization", next(iter(ids)))
        return initial

    def save_form(self, request, form, change):
        obj = super().save_form(request, form, change)
        if member_organization_ids(request) is not None and not _may(
            request, organization_id_of(obj, self.organization_field)
        ):
            raise PermissionDenied("That organization is not one of yours.")
        return obj

    # --- Permissions: membership for staff, Django's permissions for superusers ---------------

    def _allowed(self, request, obj) -> bool:
        if obj is None:
            return _may(request, None)
        return _may(request, organization_id_of(obj, self.organization_field))

    def has_module_permission(self, request):
        if member_organization_ids(request) is None:
            return super().has_module_permission(request)
        return _may(request, None)

    def has_view_permission(self, request, obj=None):
        if member_organization_ids(request) is None:
            return super().has_view_permission(request, obj)
        return self._allowed(request, obj)

    def has_add_permission(self, request):
        if member_organization_ids(request) is None:
            return super().has_add_permission(request)
        return _may(request, None)

    def has_change_permission(self, request, obj=None):
        if member_organization_ids(request) is None:
            return super().has_change_permission(request, obj)
        return self._allowed(request, obj)

    def has_delete_permission(self, request, obj=None):
        if member_organization_ids(request) is None:
            return super().has_delete_permission(request, obj)
        return self._allowed(request, obj)


class OrganizationScopedInline(_ScopedChoices):
    """InlineModelAdmin mixin: a member may edit the inline rows of a parent they can reach.

    The parent admin's scoping decides which parents a user reaches; this one gives
    members the inline's permissions (they have no per-user Django permissions) and
    limits its foreign-key choices like the parent's.
    """

    def _allowed(self, request, obj) -> bool:
        if obj is None:
            return _may(request, None)
        path = organization_path(type(obj), self.admin_site)
        return path is not None and _may(request, organization_id_of(obj, path))

    def has_view_permission(self, request, obj=None):
        if member_organization_ids(request) is None:
            return super().has_view_permission(request, obj)
        return self._allowed(request, obj)

    def has_add_permission(self, request, obj):
        if member_organization_ids(request) is None:
            return super().has_add_permission(request, obj)
        return self._allowed(request, obj)

    def has_change_permission(self, request, obj=None):
        if member_organization_ids(request) is None:
            return super().has_change_permission(request, obj)
        return self._allowed(request, obj)

    def has_delete_permission(self, request, obj=None):
        if member_organization_ids(request) is None:
            return super().has_delete_permission(request, obj)
        return self._allowed(request, obj)
