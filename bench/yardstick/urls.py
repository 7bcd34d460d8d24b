from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from bench.yardstick import api, views

urlpatterns = [
    path("bench/bare", views.bare, name="yardstick-bare"),
    # as_view() already exempts DRF views; said again here because wrk sends no CSRF token.
    path("bench/insert", csrf_exempt(api.YardstickInsertView.as_view()), name="yardstick-insert"),
]
