from django.urls import path

from portals.views import (
    auth,
    bulk,
    catalog,
    customers,
    dashboard,
    exports,
    history,
    insight,
    labels,
    notifications,
    orders,
    people,
    rfid,
    scan,
    scorecard,
    setup_pages,
    stock,
    vendor_orders,
    webhooks,
)

app_name = "portals"

customer = "customers/<int:customer_id>/"

urlpatterns = [
    path("", auth.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("customers/", customers.customer_list, name="customers"),
    path(customer, dashboard.dashboard, name="dashboard"),
    path(f"{customer}stock/", stock.stock_list, name="stock"),
    path(f"{customer}bins/<int:bin_id>/", stock.bin_detail, name="bin"),
    path(f"{customer}bins/<int:bin_id>/levels/", stock.bin_levels, name="bin_levels"),
    path(f"{customer}orders/", orders.orders, name="orders"),
    path(f"{customer}orders/<int:order_id>/", orders.order_detail, name="order"),
    path(
        f"{customer}orders/<int:order_id>/approve/",
        orders.order_approve_view,
        name="order_approve",
    ),
    path(f"{customer}orders/<int:order_id>/reject/", orders.order_reject_view, name="order_reject"),
    # Each feature module lists its own routes (names in the portals namespace).
    *scan.urlpatterns,
    *people.urlpatterns,
    *rfid.urlpatterns,
    *exports.urlpatterns,
    *bulk.urlpatterns,
    *catalog.urlpatterns,
    *labels.urlpatterns,
    *vendor_orders.urlpatterns,
    *setup_pages.urlpatterns,
    *history.urlpatterns,
    *insight.urlpatterns,
    *notifications.urlpatterns,
    *webhooks.urlpatterns,
    *scorecard.urlpatterns,
]
