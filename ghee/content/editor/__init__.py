"""The dashboard's content editor (items) and schema editor (collections); see
docs/dashboard-editor.md."""
