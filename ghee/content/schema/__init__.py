"""The schema: the document (YAML/JSON), its services, and the compiled schema."""
