from django.db import models


class TokenKind(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
