from django.utils.functional import SimpleLazyObject

from appeals.selectors import unread_count


def notifications(request):
    """The unread in-app message count for the top bar (counted only if a page shows it)."""
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(request.user))}
