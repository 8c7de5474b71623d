"""The Read API behind the views: query parameters, queries, rendering."""
