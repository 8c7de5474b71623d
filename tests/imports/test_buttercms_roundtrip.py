"""``ghee import buttercms`` from a real ``ghee serve`` into this run's database.

The source holds two organizations (with and without locales), every field type, references
both ways and a cycle, drafts, a version published in one locale and a draft in another,
media on a loopback server, a media URL that is a 404 and one that redirects to an HTML
page. Every imported item must read back through ghee's Read API as the source serves it
(ids and media hosts mapped), a second run must change nothing, and a run after edits at
the source must update exactly the edited items.
"""

from urllib.parse import urlsplit

import pytest
import requests
import yaml

from ghee.accounts.services import create_organization, create_token
from ghee.content.models import Item, Job
from ghee.content.schema.services import apply_schema, export_schema
from ghee.core.models import OutboxEvent
from ghee.imports.buttercms.inference import reference_target
from ghee.imports.models import ImportedItem
from ghee.media.models import MediaAsset

from .conftest import run_import

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LOCALES = ("en", "es")


def source_items(source, token, key, locale=None, preview=True):
    params = {"levels": 1, "page_size": 100}
    if preview:
        params["preview"] = 1
    if locale:
        params["locale"] = locale
    answer = requests.get(
        f"{source.base}/v2/content/{key}/",
        params=params,
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"][key]


def target_items(api, token, key, locale=None, preview=True):
    params = {"levels": 1, "page_size": 100, "auth_token": token}
    if preview:
        params["preview"] = 1
    if locale:
        params["locale"] = locale
    answer = api.get(f"/v2/content/{key}/", params)
    assert answer.status_code == 200, answer.content
    return answer.json()["data"][key]


def mapping(org):
    return {
        (row.collection_key, row.source_id): row.item_id
        for row in ImportedItem.objects.filter(organization=org)
    }


def as_target(item, key, ids, media_fields):
    """The source's item as the target must serve it: ids mapped, media by file name,
    references to items that were not imported left out."""
    mapped = {}
    for field, value in item.items():
        if field == "meta":
            mapped["meta"] = {"id": ids[(key, value["id"])]}
        elif field in media_fields:
            mapped[field] = urlsplit(value).path.rsplit("/", 1)[-1] if value else value
        elif isinstance(value, list) or reference_target(value):
            uris = value if isinstance(value, list) else [value]
            kept = []
            for uri in uris:
                target = reference_target(uri)
                if target in ids:
                    kept.append(f"/v2/content/?keys={target[0]}[_id={ids[target]}]")
            mapped[field] = kept if isinstance(value, list) else (kept[0] if kept else None)
        else:
            mapped[field] = value
    return mapped


def media_by_name(item, media_fields):
    return {
        f: (urlsplit(v).path.rsplit("/", 1)[-1] if v else v) if f in media_fields else v
        for f, v in item.items()
    }


def assert_same_content(
    api, source, token, target_token, org, keys, locales, media_fields, failed_ids
):
    ids = mapping(org)
    compared = 0
    for key in keys:
        for locale in locales or (None,):
            for preview in (True, False):
                expected = [
                    as_target(item, key, ids, media_fields.get(key, ()))
                    for item in source_items(source, token, key, locale, preview)
                    if item["meta"]["id"] not in failed_ids
                ]
                got = [
                    media_by_name(item, media_fields.get(key, ()))
                    for item in target_items(api, target_token, key, locale, preview)
                ]
                by_id = lambda item: item["meta"]["id"]  # noqa: E731 - ghee ids follow creation order
                assert sorted(got, key=by_id) == sorted(expected, key=by_id), (key, locale, preview)
                compared += len(got)
    return compared


def assert_same_people(api, source, reader, org, failed):
    token, media = source.seeded["src_token"], {"people": ("photo",)}
    keys = ["people", "articles"]
    return assert_same_content(api, source, token, reader, org, keys, LOCALES, media, failed)


def import_people(source, *extra):
    """People and articles, en and es; two media downloads always fail, so the exit is 1."""
    args = ("--org", "dest", "--keys", "people,articles", "--locales", "en,es")
    return run_import(
        *args,
        "--source",
        source.base,
        *extra,
        token=source.seeded["src_token"],
        expect_failure="--schema-out" not in extra,
    )


def test_import_from_a_live_ghee_round_trips_and_resyncs(api, reach_source, target_media, tmp_path):
    source = reach_source
    seeded = source.seeded
    org = create_organization("dest", "Dest", locales=list(LOCALES))
    reader = create_token(org, "read", "check")[1]

    # Review first: the inferred schema, with a reason per field.
    schema_file = tmp_path / "schema.yaml"
    _, report, _ = import_people(source, "--schema-out", str(schema_file))
    text = schema_file.read_text()
    assert "# all 12 values are booleans" in text or "booleans" in text
    inferred = {
        c["key"]: {f["key"]: f for f in c["fields"]} for c in yaml.safe_load(text)["collections"]
    }
    assert not Item.objects.filter(organization=org).exists()
    source_schema = {
        c["key"]: {f["key"]: f for f in c["fields"]}
        for c in yaml.safe_load(source.ghee("schema", "export", "--org", "src"))["collections"]
    }
    for key, fields in source_schema.items():
        for field_key, spec in fields.items():
            got = inferred[key][field_key]
            expected_type = "short_text" if spec["type"] == "dropdown" else spec["type"]
            assert (got["type"], got.get("to"), got.get("many", False)) == (
                expected_type,
                spec.get("to"),
                spec.get("many", False),
            ), (key, field_key, got)

    # Reviewed: `level` is a dropdown, and only a name is required.
    edited = text.replace(
        "{key: level, type: short_text, required: true}",
        "{key: level, type: dropdown, choices: [junior, senior]}",
    )
    edited = edited.replace(", required: true}", "}").replace(
        "{key: name, type: short_text}", "{key: name, type: short_text, required: true}"
    )
    assert edited.count("required: true") == 1 and "dropdown" in edited, edited
    schema_file.write_text(edited)

    # The import itself, webhooks off.
    _, report, _ = import_people(source, "--schema", str(schema_file), "--no-webhooks")
    people = seeded["people"]
    failures = {(f["source_id"], f["field"]) for f in report["failures"]}
    assert failures == {(people[2], "photo"), (people[3], "photo")}, report["failures"]
    messages = " ".join(f["message"] for f in report["failures"])
    assert "404" in messages and "not an allowed file type" in messages, messages
    assert report["collections"]["people"] == {
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "failed": 2,
    }
    assert report["collections"]["articles"]["created"] == 3
    assert report["media"] == {"downloaded": 2, "failed": 2, "reused": 0}, report["media"]
    assert MediaAsset.objects.filter(organization=org).count() == 2
    assert not OutboxEvent.objects.filter(organization_id=org.pk).exists()

    compared = assert_same_people(api, source, reader, org, failed={people[2], people[3]})
    assert compared >= 20

    # Webhooks were off: no events. Statuses kept: the draft person is served only with preview.
    published_names = {i["name"] for i in target_items(api, reader, "people", "en", preview=False)}
    assert "Person 5 en" not in published_names and "Person 1 en" in published_names
    es_published = {i["name"] for i in target_items(api, reader, "people", "es", preview=False)}
    assert "Persona 2 borrador" not in es_published

    # A second run changes nothing (the two broken media still fail, and say so).
    jobs_before = Job.objects.count()
    _, report, _ = import_people(source, "--schema", str(schema_file))
    assert report["collections"]["people"] == {
        "created": 0,
        "updated": 0,
        "unchanged": 4,
        "deleted": 0,
        "failed": 2,
    }
    assert report["collections"]["articles"]["unchanged"] == 3
    assert Job.objects.count() == jobs_before
    assert report["media"]["downloaded"] == 0

    # Edits at the source: one person renamed, one article deleted, one person added, the
    # 404 fixed. The next run updates exactly those.
    first, article = people[0], seeded["articles"][2]
    edited = source.shell(EDIT_SOURCE.format(person=first, article=article, broken=people[2]))
    assert edited.strip().endswith("[]"), edited
    ids_before = mapping(org)
    _, report, _ = import_people(source, "--schema", str(schema_file), "--delete-missing")
    assert report["collections"]["people"] == {
        # person 3 created, person 2 updated: its friend (person 3) exists now.
        "created": 2,
        "updated": 2,
        "unchanged": 2,
        "deleted": 0,
        "failed": 1,
    }, report["failures"]
    assert report["collections"]["articles"] == {
        # article 2's author (person 3) exists now; article 3 is gone at the source.
        "created": 0,
        "updated": 1,
        "unchanged": 1,
        "deleted": 1,
        "failed": 0,
    }, report
    after = mapping(org)
    assert all(after[key] == ids_before[key] for key in ids_before if key in after)
    assert ("articles", article) not in after
    assert_same_people(api, source, reader, org, failed={people[3]})


EDIT_SOURCE = """
from ghee.content.schema.cache import schema_cache
from ghee.content.write.accept import accept_job
from ghee.content.write.jobs import run_pending_jobs
from ghee.content.write.validation import validate_change, validate_create
from ghee.accounts.models import Organization
org = Organization.objects.get(slug="src")
people = schema_cache.get(org.pk, "people")
articles = schema_cache.get(org.pk, "articles")
payload = validate_change(people, {{"fields": {{"en": {{"name": "Renamed"}}}}}}, partial=True)
accept_job(token=None, schema=people, kind="update", payload=payload, item_id={person})
accept_job(token=None, schema=articles, kind="delete", payload={{}}, item_id={article})
new = {{"status": "published", "fields": [{{"en": {{"name": "New"}}}}]}}
payload = validate_create(people, new)
accept_job(token=None, schema=people, kind="create", payload=payload)
import os
photo = os.environ["SEED_MEDIA_BASE"] + "/photo1.png"
payload = validate_change(people, {{"fields": {{"en": {{"photo": photo}}}}}}, partial=True)
accept_job(token=None, schema=people, kind="update", payload=payload, item_id={broken})
run_pending_jobs()
from ghee.content.models import Job
print([(j.kind, j.status, j.errors) for j in Job.objects.exclude(status="succeeded")])
"""


def assert_same_notes(api, source, reader, org):
    token = source.seeded["plain_token"]
    media = {"notes": ("cover",)}
    assert_same_content(api, source, token, reader, org, ["notes"], (), media, set())


def test_an_organization_without_locales_and_a_dry_run(api, reach_source, target_media):
    source = reach_source
    org = create_organization("flat", "Flat")
    reader = create_token(org, "read", "check")[1]
    args = ("--org", "flat", "--keys", "notes", "--source", source.base)
    out, report, _ = run_import(*args, "--dry-run", token=source.seeded["plain_token"])
    assert "Dry run: nothing was changed." in out
    assert report["collections"]["notes"]["created"] == 4
    assert not Item.objects.filter(organization=org).exists()
    assert not MediaAsset.objects.exists()

    out, report, _ = run_import(*args, token=source.seeded["plain_token"])
    assert report["collections"]["notes"]["created"] == 4
    assert report["media"]["downloaded"] == 1 and report["media"]["reused"] == 0
    assert "schema: + collection notes (4 fields)" in out
    assert_same_notes(api, source, reader, org)

    # Edited in ghee since (the label, a limit): a re-run keeps ghee's schema.
    edited = export_schema(org)
    edited["collections"][0]["label"] = "title"
    edited["collections"][0]["fields"][1]["max"] = 1000
    apply_schema(org, edited)
    _, report, _ = run_import(*args, token=source.seeded["plain_token"])
    assert export_schema(org) == edited
    assert report["collections"]["notes"]["unchanged"] == 4
    assert (
        "notes: exists in ghee, its schema is kept (--schema FILE changes it)" in report["warnings"]
    )


def test_an_interrupted_import_resumes_without_creating_anything_twice(
    api, reach_source, target_media, monkeypatch
):
    """Stopped (Ctrl-C) right after its create jobs were accepted, before they ran: the
    next run finishes those jobs, adopts their items, and creates nothing twice."""
    from django.core.management import call_command

    from ghee.imports.buttercms import writing

    source = reach_source
    org = create_organization("flat", "Flat")
    reader = create_token(org, "read", "check")[1]
    args = ("--org", "flat", "--keys", "notes", "--source", source.base)

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(writing, "run_pending_jobs", interrupted)
    with pytest.raises(KeyboardInterrupt):
        call_command(
            "import", "buttercms", *args, "--token", source.seeded["plain_token"], "--no-progress"
        )
    waiting = ImportedItem.objects.filter(organization=org, item__isnull=True)
    assert waiting.count() == 4 and not Item.objects.filter(organization=org).exists()

    monkeypatch.undo()
    _, report, _ = run_import(*args, token=source.seeded["plain_token"])
    assert Item.objects.filter(organization=org).count() == 4
    assert not ImportedItem.objects.filter(organization=org, item__isnull=True).exists()
    assert report["collections"]["notes"]["created"] == 4
    assert report["collections"]["notes"]["updated"] == 0
    assert_same_notes(api, source, reader, org)
    _, report, _ = run_import(*args, token=source.seeded["plain_token"])
    assert report["collections"]["notes"]["unchanged"] == 4
