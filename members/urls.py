from django.urls import path

from . import webhooks

app_name = "members"

urlpatterns = [
    path("stripe/webhook/", webhooks.stripe_webhook, name="stripe-webhook"),
]
