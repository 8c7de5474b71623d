"""Jobs in the dashboard: a list to watch and filter, a page that says what was asked in an
editor's words (``job_summary``), and a retry for failed jobs (``write/retry.py``).

Jobs are the workers' to change: nobody adds, edits or deletes one here. Staff users see
their organizations' jobs only (``OrganizationScopedAdmin``). The list never loads a job's
payload (it can hold 100 items), so it costs the same few queries for any page of jobs.
"""

from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from ghee.accounts.admin_scoping import OrganizationScopedAdmin
from ghee.content import job_summary
from ghee.content.choices import JobKind, JobStatus
from ghee.content.models import Job
from ghee.content.write.retry import retry_jobs


@admin.register(Job)
class JobAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    organization_field = "organization"
    change_form_template = "admin/content/job/change_form.html"
    change_list_template = "admin/content/job/change_list.html"
    list_display = [
        "id",
        "status_shown",
        "what",
        "collection",
        "organization",
        "editor",
        "created",
        "finished",
    ]
    list_display_links = ["id", "status_shown"]
    list_filter = ["status", "kind", "organization", "collection"]
    list_select_related = ["organization", "collection"]
    search_fields = ["=id", "editor", "collection__key"]
    date_hierarchy = "created_at"
    actions = ["retry"]
    fields = [
        "request",
        "status_shown",
        "requested_status",
        "editor",
        "collection",
        "organization",
        "outcome",
        "errors_shown",
        "values_sent",
        "attempts",
        "created_at",
        "started_at",
        "finished_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        # The payload is read only by the job page (one more query there), never by the list:
        # the database answers "is it an unpublish?" for the list's "What" column.
        return job_summary.annotate_unpublish(super().get_queryset(request).defer("payload"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request, obj=None):
        """Whoever may see a job may retry it (members in their organizations)."""
        return self.has_view_permission(request, obj)

    # --- The list -----------------------------------------------------------------------------

    @admin.display(description="Status", ordering="status")
    def status_shown(self, job: Job):
        """The status; a failed job's (or a retrying job's) first error beside it."""
        errors = self.error_summary(job)
        if job.status == JobStatus.FAILED:
            return format_html(
                '<strong class="ghee-failed">{}</strong><br>{}', job.get_status_display(), errors
            )
        if errors:
            return format_html("{}<br>{}", job.get_status_display(), errors)
        return job.get_status_display()

    @admin.display(description="Created", ordering="created_at")
    def created(self, job: Job):
        return job.created_at

    @admin.display(description="Finished", ordering="finished_at")
    def finished(self, job: Job):
        return job.finished_at

    @admin.display(description="What", ordering="kind")
    def what(self, job: Job) -> str:
        """ "Update #42"; "Create #7, #8, #9 …" once created (the payload is not read here)."""
        if job.kind != JobKind.CREATE:
            unpublish = getattr(job, "is_unpublish", False)
            return f"{job_summary.verb(job.kind, unpublish)} #{job.item_id}"
        created = (job.result or {}).get("item_ids") or []
        shown = ", ".join(f"#{pk}" for pk in created[:3]) + (" …" if len(created) > 3 else "")
        return f"Create {shown}".rstrip()

    @admin.display(description="Errors")
    def error_summary(self, job: Job) -> str:
        errors = job.errors or []
        if not errors:
            return ""
        first = errors[0].get("message", "") if isinstance(errors[0], dict) else str(errors[0])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return job_summary.shorten(first) + more

    # --- The job page -------------------------------------------------------------------------

    def _names(self, job: Job):
        if not hasattr(job, "_field_names"):
            job._field_names = job_summary.field_names(job)
        return job._field_names

    @admin.display(description="Request")
    def request(self, job: Job) -> str:
        return job_summary.headline(job)

    @admin.display(description="Status requested")
    def requested_status(self, job: Job) -> str:
        return job_summary.requested_status(job)

    @admin.display(description="Outcome")
    def outcome(self, job: Job) -> str:
        if job.status in (JobStatus.PENDING, JobStatus.RUNNING):
            return "Not finished yet."
        if job.status == JobStatus.FAILED:
            return "Nothing was written."
        if job.kind == JobKind.CREATE:
            created = (job.result or {}).get("item_ids") or []
            return "Created " + ", ".join(f"item #{pk}" for pk in created) + "."
        return f"{job.get_kind_display()}: item #{job.item_id} done."

    @admin.display(description="Errors")
    def errors_shown(self, job: Job):
        rows = job_summary.error_rows(job, self._names(job))
        if not rows:
            return "None."
        return _table(
            ["Item", "Locale", "Field", "Problem"],
            [(row.item, row.locale or "—", row.field or "—", row.message) for row in rows],
            "ghee-job-errors",
        )

    @admin.display(description="Values sent")
    def values_sent(self, job: Job):
        rows, hidden = job_summary.value_rows(job, self._names(job))
        if not rows:
            return "No field values (a status change or a delete)."
        table = _table(
            ["Item", "Locale", "Fields"],
            [
                (
                    row.item,
                    row.locale or "—",
                    "; ".join(f"{name}: {value}" for name, value in row.fields) or "(none)",
                )
                for row in rows
            ],
            "ghee-job-values",
        )
        if hidden:
            return format_html("{}<p>… and {} more items.</p>", table, hidden)
        return table

    # --- Retry --------------------------------------------------------------------------------

    @admin.action(description="Retry selected failed jobs", permissions=["retry"])
    def retry(self, request, queryset):
        self._retry(request, queryset)

    def get_urls(self):
        retry_one = self.admin_site.admin_view(self.retry_view)
        return [
            path("<path:object_id>/retry/", retry_one, name="content_job_retry"),
            *super().get_urls(),
        ]

    def retry_view(self, request, object_id):
        """The job page's "Retry" button (POST)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self.get_object(request, object_id)
        if job is None or not self.has_retry_permission(request, job):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        self._retry(request, self.get_queryset(request).filter(pk=job.pk))
        return HttpResponseRedirect(reverse("admin:content_job_change", args=[job.pk]))

    def _retry(self, request, queryset) -> None:
        outcome = retry_jobs(queryset)
        for job in outcome.retried:
            errors = (
                "; ".join(row.message for row in job_summary.error_rows(job, {})[:3])
                or "no error recorded"
            )
            self.log_change(
                request,
                job,
                f"Retried by {request.user.get_username()}: it had failed after "
                f"{job.attempts} attempt(s) ({errors}).",
            )
        if outcome.retried:
            self.message_user(
                request,
                f"{len(outcome.retried)} job(s) will run again: "
                + ", ".join(f"job {job.pk}" for job in outcome.retried)
                + ". A worker picks them up within seconds.",
                messages.SUCCESS,
            )
        for pk, reason in outcome.refused.items():
            self.message_user(request, f"Job {pk} was not retried: {reason}.", messages.WARNING)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_retry"] = (
            obj is not None
            and obj.status == JobStatus.FAILED
            and self.has_retry_permission(request, obj)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)


def _table(headers: list[str], rows: list[tuple], css_class: str):
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html(
        '<table class="{}"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        css_class,
        head,
        body,
    )
