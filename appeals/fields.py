"""The credit code field: a code is stored, compared and shown in its normalised form only.

People type codes in full-width, in lower case, in groups with spaces or dashes; stored as
typed, one enterprise could be registered twice and a filing naming it would miss its
commissioner. `normalize_credit_code` is the one normaliser, and these fields apply it on every
way a value comes in: model validation (`full_clean`, so the admin), saves and lookups through
the ORM (`get_prep_value` calls `to_python`), and forms. The database refuses anything else
(Enterprise's check constraint), so raw SQL and COPY cannot store a code as typed either.
"""

from django import forms
from django.db import models

from appeals.validators import normalize_credit_code, validate_credit_code


class CreditCodeFormField(forms.CharField):
    """A credit code typed by a person: normalised before validation, so the error names what
    is wrong with the code rather than with its spaces, and the cleaned value is the stored
    form. There is no max_length: the typed text may carry separators; the validator counts
    the characters that remain."""

    default_validators = [validate_credit_code]

    def to_python(self, value):
        value = super().to_python(value)
        return normalize_credit_code(value) if value else value

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        if not widget.is_hidden:
            attrs.update({"maxlength": "40", "autocapitalize": "characters", "spellcheck": "false"})
        return attrs


class CreditCodeField(models.CharField):
    """A unified social credit code (GB 32100-2015), normalised whenever Django handles it."""

    def to_python(self, value):
        value = super().to_python(value)
        return normalize_credit_code(value) if value else value

    def pre_save(self, model_instance, add):
        # The instance holds the stored form after save(), not what was typed.
        value = self.to_python(super().pre_save(model_instance, add))
        setattr(model_instance, self.attname, value)
        return value

    def formfield(self, **kwargs):
        return super().formfield(
            **{"form_class": CreditCodeFormField, "max_length": None, **kwargs}
        )
