from django.urls import path

from oncall import views

app_name = "oncall"

urlpatterns = [
    path("", views.oncall_now, name="now"),
]
