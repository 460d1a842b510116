"""Which database errors mean "unreachable, retry later" (a 503) rather than a wrong query (a 500)."""

import sqlite3

from django.db import DatabaseError, InterfaceError, OperationalError

from common.unavailable import database_unavailable


def _wrapped(django_error, driver_error):
    try:
        raise django_error(*driver_error.args) from driver_error
    except django_error as error:
        return error


def test_a_refused_or_dropped_postgres_connection_is_unavailable():
    import psycopg

    assert database_unavailable(_wrapped(OperationalError, psycopg.OperationalError("connection refused")))
    assert database_unavailable(_wrapped(OperationalError, psycopg.errors.AdminShutdown("terminating connection")))
    assert database_unavailable(InterfaceError("connection already closed"))


def test_a_postgres_error_about_the_statement_is_not_unavailable():
    import psycopg

    assert not database_unavailable(_wrapped(OperationalError, psycopg.errors.QueryCanceled("statement timeout")))
    assert not database_unavailable(DatabaseError("value too long"))


def test_a_locked_sqlite_database_is_unavailable_and_a_missing_table_is_not():
    assert database_unavailable(_wrapped(OperationalError, sqlite3.OperationalError("database is locked")))
    assert not database_unavailable(_wrapped(OperationalError, sqlite3.OperationalError("no such table: x")))
