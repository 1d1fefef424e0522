from django.urls import path

from bastion.web import views

urlpatterns = [
    path("", views.home, name="home"),
]
