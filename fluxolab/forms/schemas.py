"""Response schemas of the public form API (``/api/forms/<token>``)."""

from __future__ import annotations

from marshmallow import Schema, fields

from fluxolab.forms.validation import FIELD_TYPES


class FormFieldOut(Schema):
    name = fields.String(metadata={"description": "Key of the value in a submission"})
    label = fields.String(metadata={"description": "Text shown next to the input"})
    type = fields.String(metadata={"enum": list(FIELD_TYPES)})
    required = fields.Boolean()
    options = fields.List(fields.String(), metadata={"description": "Choices of a select"})
    maxLength = fields.Integer(allow_none=True, metadata={"description": "Longest text accepted"})


class FormOut(Schema):
    name = fields.String(metadata={"description": "The node's formName"})
    language = fields.String(metadata={"description": "Language of the form page (pt-BR, en-US)"})
    form_fields = fields.List(fields.Nested(FormFieldOut), data_key="fields", attribute="fields")
    submitUrl = fields.String(metadata={"description": "Where to POST a JSON submission"})
    pageUrl = fields.String(metadata={"description": "The HTML page of the form"})


class FormBody(Schema):
    status = fields.String(dump_default="ok")
    form = fields.Nested(FormOut)


class FormAccepted(Schema):
    status = fields.String(dump_default="accepted")
    executionId = fields.UUID()


SUBMISSION_DOC = {
    "requestBody": {
        "required": True,
        "description": "A JSON object of field values by field name: strings for text, "
        "textarea, email, date (yyyy-mm-dd) and select; a number (or a numeric string) for "
        "number; true/false for checkbox. Fields the form does not define are refused.",
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": True},
                "example": {"email": "ana@example.com", "age": 31, "terms": True},
            }
        },
    }
}
