"""The worker's settings: QUEUE_URL's defaults beside the database, and one clear line for a bad value."""

from __future__ import annotations

import pytest

from webapp.config import ConfigError, load_settings
from webapp.jobs.queue import ExpiringPostgresStorage, ExpiringSqliteStorage, make_huey


def test_defaults(tmp_path):
    s = load_settings({}, tmp_path)
    assert s.queue_url == f"sqlite:///{tmp_path / 'queue.db'}"
    assert (s.exotel_requests_per_minute, s.reconcile_every_minutes, s.reconcile_older_than_minutes) == (200, 5, 15.0)
    assert (s.reconcile_never_placed_after_minutes, s.campaign_lost_after_minutes) == (60.0, 10.0)
    quick = load_settings({"RECONCILE_NEVER_PLACED_AFTER_MINUTES": "0.1", "CAMPAIGN_LOST_AFTER_MINUTES": "0.02"}, tmp_path)
    assert (quick.reconcile_never_placed_after_minutes, quick.campaign_lost_after_minutes) == (0.1, 0.02)
    other = tmp_path / "elsewhere" / "calls.db"
    assert load_settings({"DATABASE_URL": f"sqlite:///{other}"}, tmp_path).queue_url == f"sqlite:///{other.parent / 'queue.db'}"
    pg = load_settings({"DATABASE_URL": "postgresql://u@db/app"}, tmp_path)
    assert pg.queue_url == pg.database_url  # the app's own PostgreSQL database
    assert load_settings({"QUEUE_URL": "redis://127.0.0.1:6379/6"}, tmp_path).queue_url == "redis://127.0.0.1:6379/6"


@pytest.mark.parametrize(("name", "value"), [
    ("QUEUE_URL", "amqp://host/"), ("QUEUE_URL", "sqlite://"), ("QUEUE_URL", "redis://"), ("QUEUE_URL", "redis://h:x/"),
    ("EXOTEL_REQUESTS_PER_MINUTE", "0"), ("EXOTEL_REQUESTS_PER_MINUTE", "many"),
    ("RECONCILE_EVERY_MINUTES", "-1"), ("RECONCILE_EVERY_MINUTES", "1.5"), ("RECONCILE_OLDER_THAN_MINUTES", "soon"),
    ("RECONCILE_NEVER_PLACED_AFTER_MINUTES", "0"), ("RECONCILE_NEVER_PLACED_AFTER_MINUTES", "an hour"),
    ("CAMPAIGN_LOST_AFTER_MINUTES", "0"), ("CAMPAIGN_LOST_AFTER_MINUTES", "-5"),
])
def test_a_bad_value_names_its_variable(tmp_path, name, value):
    with pytest.raises(ConfigError) as error:
        load_settings({name: value}, tmp_path)
    assert error.value.variable == name and name in str(error.value)


def test_the_queue_follows_its_url(tmp_path, postgres_database):
    assert isinstance(make_huey(f"sqlite:///{tmp_path / 'q.db'}").storage, ExpiringSqliteStorage)
    huey = make_huey(postgres_database)
    try:
        assert isinstance(huey.storage, ExpiringPostgresStorage)
    finally:
        huey.storage.close()
    assert type(make_huey("redis://127.0.0.1:6379/6").storage).__name__ == "RedisExpireStorage"


def test_locks_expire_but_hold_until_then(tmp_path, postgres_database):
    import time

    for url in (f"sqlite:///{tmp_path / 'q.db'}", postgres_database):
        huey = make_huey(url)
        try:
            huey.flush_locks("t")
            assert huey.put_if_empty("lock", "1", 1)
            assert not huey.put_if_empty("lock", "1", 1)
            time.sleep(1.1)
            assert huey.put_if_empty("lock", "1", 1)  # the holder died: its lock expired
            huey.delete("lock")
        finally:
            huey.storage.close()
