"""django-tasks tasks of the content app. The dispatcher (``jobs.dispatch_jobs``) enqueues
them; ``ghee worker`` runs them."""

from django_tasks import task

from ghee.content.write import jobs


@task()
def process_jobs(job_ids: list[int], lease_token: str) -> dict:
    """Process one dispatched batch of jobs (see ``ghee.content.write.jobs``)."""
    return jobs.process_batch(job_ids, lease_token)
