-- Run once by the postgres image on an empty data directory (as the superuser).
-- Each service gets its own role and database: they never share tables.

CREATE ROLE traininglog LOGIN PASSWORD 'traininglog';
CREATE DATABASE traininglog OWNER traininglog;
REVOKE ALL ON DATABASE traininglog FROM PUBLIC;

CREATE ROLE planner LOGIN PASSWORD 'planner';
CREATE DATABASE planner OWNER planner;
REVOKE ALL ON DATABASE planner FROM PUBLIC;
