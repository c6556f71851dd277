import pytest

from tests.conftest import as_user


@pytest.fixture(autouse=True)
def fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


BIG = "99999999999999999999999"


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/bins?customer={BIG}",
        f"/api/v1/bins?site={BIG}",
        f"/api/v1/bins?location={BIG}",
        f"/api/v1/bins?location_subtree={BIG}",
        f"/api/v1/locations?site={BIG}",
        f"/api/v1/locations?parent={BIG}",
        f"/api/v1/locations?customer={BIG}",
        f"/api/v1/orders?customer={BIG}",
        f"/api/v1/orders?site={BIG}",
        f"/api/v1/sites?customer={BIG}",
        f"/api/v1/devices?site={BIG}",
        f"/api/v1/cross-references?item={BIG}",
        "/api/v1/bins?customer=1.5",
        "/api/v1/bins?customer=-1",
        "/api/v1/bins?customer=1e3",
        "/api/v1/orders?updated_after=2020-13-01",
        "/api/v1/orders?status=nope",
        "/api/v1/bins?label=%00",
        "/api/v1/items?search=%00",
        "/api/v1/bins?page_size=-3",
        "/api/v1/bins?page=0",
        f"/api/v1/customers/{BIG}",
        f"/api/v1/auth/token/{BIG}",
    ],
)
def test_probe(world, url):
    a = world["a"]
    r = as_user(a.admin).get(url) if "auth/token" not in url else as_user(a.admin).delete(url)
    print(url, r.status_code, r.content[:150])
