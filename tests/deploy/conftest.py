import pytest

from tests.deploy.production import collect_static


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory):
    """A var directory holding the collected static files, for app servers in other processes
    (tests/deploy/production.py); collected once per test run."""
    return collect_static(tmp_path_factory.mktemp("var"))
