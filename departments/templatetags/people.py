from django import template

from departments.names import person_name as _person_name

register = template.Library()


@register.filter
def person_name(user) -> str:
    """{{ user|person_name }}: a person's name as departments.names.person_name shows it."""
    return _person_name(user)
