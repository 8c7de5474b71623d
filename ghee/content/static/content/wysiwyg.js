// WYSIWYG fields: django-prose-editor's editor (Tiptap/ProseMirror, shipped in its wheel)
// on every textarea marked data-ghee-wysiwyg. Imported by a relative path, so the page
// needs no import map (an inline script, which the dashboard's CSP refuses).
import {
  Blockquote, Bold, BulletList, Document, Dropcursor, Gapcursor, HardBreak, Heading, History,
  HorizontalRule, HTML, Italic, Link, ListItem, Menu, OrderedList, Paragraph, Strike, Text,
  Underline, createTextareaEditor, initializeEditors,
} from "../django_prose_editor/editor.js";

const EXTENSIONS = [
  Document, Dropcursor, Gapcursor, Paragraph, HardBreak, Text, History, Menu, HTML,
  Blockquote, Bold, BulletList, Heading.configure({ levels: [1, 2, 3] }), HorizontalRule,
  Italic, Link, ListItem, OrderedList, Strike, Underline,
];

initializeEditors((textarea) => {
  if (!textarea.closest(".prose-editor")) createTextareaEditor(textarea, EXTENSIONS);
}, "[data-ghee-wysiwyg]");
