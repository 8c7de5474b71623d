"""Content for the source ghee (run inside it with ``ghee shell -c``): two organizations,
with and without locales, every field type, references both ways and a cycle, drafts,
mixed statuses per locale, media from a loopback server, a media URL that is a 404 and one
that redirects to an HTML page. Prints the read tokens and ids as JSON."""

import json
import os

from ghee.accounts.services import create_organization, create_token
from ghee.content.models import ItemLocale, Job
from ghee.content.schema.cache import schema_cache
from ghee.content.schema.services import apply_schema
from ghee.content.write.accept import accept_job
from ghee.content.write.jobs import run_pending_jobs
from ghee.content.write.validation import validate_change, validate_create

MEDIA = os.environ["SEED_MEDIA_BASE"]

SCHEMA = {
    "collections": [
        {
            "key": "people",
            "label": "name",
            "fields": [
                {"key": "name", "type": "short_text"},
                {"key": "bio", "type": "long_text"},
                {"key": "intro", "type": "wysiwyg"},
                {"key": "age", "type": "number"},
                {"key": "active", "type": "checkbox"},
                {"key": "born", "type": "date"},
                {"key": "tint", "type": "color"},
                {"key": "photo", "type": "media"},
                {"key": "level", "type": "dropdown", "choices": ["junior", "senior"]},
                {"key": "friend", "type": "reference", "to": "people"},
                {"key": "articles", "type": "reference", "to": "articles", "many": True},
            ],
        },
        {
            "key": "articles",
            "label": "title",
            "fields": [
                {"key": "title", "type": "short_text"},
                {"key": "author", "type": "reference", "to": "people"},
                {"key": "empty", "type": "short_text"},
            ],
        },
    ]
}
PLAIN_SCHEMA = {
    "collections": [
        {
            "key": "notes",
            "fields": [
                {"key": "title", "type": "short_text"},
                {"key": "count", "type": "number"},
                {"key": "cover", "type": "media"},
                {"key": "related", "type": "reference", "to": "notes", "many": True},
            ],
        }
    ]
}


def run(schema, kind, body, item_id=None):
    if kind == "create":
        payload = validate_create(schema, body)
    else:
        payload = validate_change(schema, body, partial=kind == "update")
    job_id = accept_job(
        token=None, schema=schema, kind=kind, payload=payload, item_id=item_id
    ).job_id
    run_pending_jobs()
    job = Job.objects.get(pk=job_id)
    assert job.status == "succeeded", job.errors
    return job.result["item_ids"]


def person(n, lang):
    return {
        "name": f"Person {n} {lang}",
        "bio": f"Line one {lang}\nline two",
        "intro": f"<p>Hello <strong>{n}</strong> {lang}</p>",
        "age": 20 + n + (0.5 if n == 2 else 0),
        "active": n % 2 == 0,
        "born": f"199{n}-0{n}-1{n}T08:30:00",
        "tint": f"#a{n}b{n}c{n}",
        "photo": f"{MEDIA}/photo{n % 2}.png",
        "level": "senior" if n % 2 else "junior",
    }


src = create_organization("src", "Source", locales=["en", "es"])
apply_schema(src, SCHEMA)
people = schema_cache.get(src.pk, "people")
articles = schema_cache.get(src.pk, "articles")
person_ids = [
    run(
        people,
        "create",
        {"status": "published", "fields": [{"en": person(n, "en"), "es": person(n, "es")}]},
    )[0]
    for n in range(1, 5)
]
# A draft in both locales, and one with only an English version.
draft = run(
    people,
    "create",
    {"status": "draft", "fields": [{"en": person(5, "en"), "es": person(5, "es")}]},
)[0]
only_en = run(people, "create", {"status": "published", "fields": [{"en": person(6, "en")}]})[0]
# Mixed: English published, Spanish a draft.
run(
    people,
    "update",
    {"status": "draft", "fields": {"es": {"name": "Persona 2 borrador"}}},
    person_ids[1],
)
article_ids = [
    run(
        articles,
        "create",
        {
            "status": "published",
            "fields": [
                {
                    "en": {"title": f"Article {n}", "author": person_ids[n % 4]},
                    "es": {"title": f"Artículo {n}", "author": person_ids[n % 4]},
                }
            ],
        },
    )[0]
    for n in range(1, 4)
]
# The cycle: people -> articles -> people, and people -> people.
for index, pid in enumerate(person_ids):
    fields = {"articles": article_ids[: index + 1], "friend": person_ids[(index + 1) % 4]}
    run(people, "update", {"fields": {"en": fields, "es": fields}}, pid)

# Media the source's CDN lost (404) and one that now redirects to an HTML page.
for pid, url in ((person_ids[2], f"{MEDIA}/missing.png"), (person_ids[3], f"{MEDIA}/moved.jpg")):
    for version in ItemLocale.objects.filter(item_id=pid, locale="en"):
        version.data["photo"] = url
        if version.published_data:
            version.published_data["photo"] = url
        version.save()

plain = create_organization("plain", "Plain")
apply_schema(plain, PLAIN_SCHEMA)
notes = schema_cache.get(plain.pk, "notes")
note_ids = run(
    notes,
    "create",
    {
        "status": "published",
        "fields": [
            {"title": f"Note {n}", "count": n, "cover": f"{MEDIA}/photo0.png"} for n in range(1, 4)
        ],
    },
)
run(notes, "update", {"fields": {"related": note_ids[:2]}}, note_ids[2])
run(notes, "create", {"status": "draft", "fields": [{"title": "Draft note", "count": 0}]})

# The organization docs/migrate-from-buttercms.md imports from.
butter = create_organization("butter", "Butter", locales=["en", "es"])
apply_schema(
    butter,
    {
        "collections": [
            {"key": "departments", "fields": [{"key": "name", "type": "short_text"}]},
            {
                "key": "team_members",
                "fields": [
                    {"key": "name", "type": "short_text"},
                    {"key": "photo", "type": "media"},
                    {"key": "department", "type": "reference", "to": "departments"},
                ],
            },
        ]
    },
)
departments = schema_cache.get(butter.pk, "departments")
team = schema_cache.get(butter.pk, "team_members")
[engineering] = run(
    departments,
    "create",
    {
        "status": "published",
        "fields": [{"en": {"name": "Engineering"}, "es": {"name": "Ingeniería"}}],
    },
)
run(
    team,
    "create",
    {
        "status": "published",
        "fields": [
            {
                "en": {"name": "Ada", "photo": f"{MEDIA}/photo1.png", "department": engineering},
                "es": {
                    "name": "Ada (es)",
                    "photo": f"{MEDIA}/photo1.png",
                    "department": engineering,
                },
            },
        ],
    },
)

print(
    json.dumps(
        {
            "butter_token": create_token(butter, "read", "docs")[1],
            "src_token": create_token(src, "read", "import test")[1],
            "plain_token": create_token(plain, "read", "import test")[1],
            "people": [*person_ids, draft, only_en],
            "articles": article_ids,
        }
    )
)
