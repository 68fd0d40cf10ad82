from django.urls import path

from . import views, webhooks

app_name = "members"

urlpatterns = [
    path("membership/", views.plan_list, name="plans"),
    path("membership/join/", views.join, name="join"),
    path("membership/join/sign-up/", views.join_signup, name="join-signup"),
    path("membership/welcome/", views.welcome, name="welcome"),
    path("membership/account/", views.account, name="account"),
    path("membership/account/portal/", views.portal, name="portal"),
    path("membership/account/data/", views.account_data, name="account-data"),
    path("membership/account/delete/", views.account_delete, name="account-delete"),
    # Stripe posts to the unprefixed address; the language prefix does not matter to it.
    path("membership/stripe/webhook/", webhooks.stripe_webhook, name="stripe-webhook"),
    path("donate/", views.donate, name="donate"),
    path("donate/thanks/", views.donation_thanks, name="donation-thanks"),
]
