"""Filled in by its issue."""

from rest_framework import status
from rest_framework.response import Response


def _todo(*args, **kwargs):
    return Response({"detail": "Not implemented yet."}, status=status.HTTP_501_NOT_IMPLEMENTED)


create_items = replace_item = update_item = delete_item = _todo
