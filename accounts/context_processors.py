from django.utils.functional import SimpleLazyObject

from accounts.permissions import access_for


def access(request):
    return {"access": SimpleLazyObject(lambda: access_for(request.user))}
