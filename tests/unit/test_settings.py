import pytest

from backtrack_shared.settings import SettingsError
from planner.config import Settings as PlannerSettings
from traininglog.config import Settings as TrainingLogSettings


def test_defaults_run_both_services_on_sqlite_under_the_data_folder():
    traininglog, planner = TrainingLogSettings.from_env({}), PlannerSettings.from_env({})
    assert (traininglog.port, planner.port) == (8001, 8002)
    assert traininglog.database_url == "sqlite:///data/traininglog.db"
    assert planner.database_url == "sqlite:///data/planner.db"


def test_a_service_prefix_wins_over_the_shared_name():
    environ = {
        "DATABASE_URL": "postgresql+psycopg://db/shared",
        "PLANNER_DATABASE_URL": "postgresql+psycopg://db/planner",
    }
    assert TrainingLogSettings.from_env(environ).database_url.endswith("/shared")
    assert PlannerSettings.from_env(environ).database_url.endswith("/planner")


def test_ports_are_not_shared_between_services():
    assert TrainingLogSettings.from_env({"PORT": "9000"}).port == 8001
    assert TrainingLogSettings.from_env({"TRAININGLOG_PORT": "9000"}).port == 9000


def test_bad_numbers_name_the_variable():
    with pytest.raises(SettingsError, match="TRAININGLOG_PORT must be a whole number"):
        TrainingLogSettings.from_env({"TRAININGLOG_PORT": "eighty"})
    with pytest.raises(SettingsError, match="PLANNER_PREFETCH must be at least 1"):
        PlannerSettings.from_env({"PLANNER_PREFETCH": "0"})


def test_the_planner_batches_what_its_prefetch_holds_unless_told_otherwise():
    planner = PlannerSettings.from_env({})
    assert (planner.batch_size, planner.batch_wait_s) == (planner.prefetch, 0.0)
    assert PlannerSettings.from_env({"PLANNER_BATCH_SIZE": "1"}).batch_size == 1
    with pytest.raises(SettingsError, match="PLANNER_BATCH_SIZE must be at least 1"):
        PlannerSettings.from_env({"PLANNER_BATCH_SIZE": "0"})
