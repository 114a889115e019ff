-- Run once by the postgres image on an empty data directory (as the superuser).
-- Each service gets its own role and database: they never share tables.

CREATE ROLE traininglog LOGIN PASSWORD 'traininglog';
CREATE DATABASE traininglog OWNER traininglog;
REVOKE ALL ON DATABASE traininglog FROM PUBLIC;

-- traininglog's data keys, apart from the event store (a role of their own too, so that
-- a dump made with the event store's role holds no key).
CREATE ROLE traininglog_keys LOGIN PASSWORD 'traininglog_keys';
CREATE DATABASE traininglog_keys OWNER traininglog_keys;
REVOKE ALL ON DATABASE traininglog_keys FROM PUBLIC;

CREATE ROLE planner LOGIN PASSWORD 'planner';
CREATE DATABASE planner OWNER planner;
REVOKE ALL ON DATABASE planner FROM PUBLIC;
