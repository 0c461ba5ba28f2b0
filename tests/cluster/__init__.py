"""A package, so that this folder's conftest is `cluster.conftest` and does
not take the module name `conftest`, which tests/e2e imports."""
