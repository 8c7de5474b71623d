"""Dashboard-only middleware: sign-in lockout (django-axes) and a Content-Security-Policy
(django-csp). Both matter to pages a person signs in to; the token API has no password
sign-in and answers JSON, so ``web_only`` skips them on ``/v2/`` (no work on its hot path).
"""

from axes.middleware import AxesMiddleware
from csp.middleware import CSPMiddleware

from ghee.core.middleware import web_only

WebAxesMiddleware = web_only(AxesMiddleware)
WebCSPMiddleware = web_only(CSPMiddleware)
