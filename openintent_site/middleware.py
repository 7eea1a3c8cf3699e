"""Django's middleware for the pages (the admin, the docs), which requests to the API pass by.

The API authenticates every request by its key and answers JSON: it has no session, no logged-in user, no messages,
no cookie a forged form could ride on and no page to frame. Run on each of its requests all the same, these five
cost a tenth of a read's CPU. Subclasses, so that the admin's checks still find each in MIDDLEWARE."""

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware

API_PREFIX = "/api/"


def for_the_api(request):
    return request.path_info.startswith(API_PREFIX)


class PagesOnly:
    def __call__(self, request):
        if for_the_api(request):
            return self.get_response(request)  # a coroutine under the ASGI handler, which awaits it
        return super().__call__(request)


class PagesSessionMiddleware(PagesOnly, SessionMiddleware):
    pass


class PagesCsrfViewMiddleware(PagesOnly, CsrfViewMiddleware):
    def process_view(self, request, callback, callback_args, callback_kwargs):
        if for_the_api(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class PagesAuthenticationMiddleware(PagesOnly, AuthenticationMiddleware):
    pass


class PagesMessageMiddleware(PagesOnly, MessageMiddleware):
    pass


class PagesXFrameOptionsMiddleware(PagesOnly, XFrameOptionsMiddleware):
    pass
