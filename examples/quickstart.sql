-- sqlite-databricks quickstart: run with `make demo`, which starts dbx-local
-- (a local Databricks workspace) and sets DATABRICKS_HOST, DATABRICKS_TOKEN
-- and DATABRICKS_WAREHOUSE_ID for this shell.
.load ./build/databricks

-- Which extension and libraries are running.
SELECT dbx_version() AS version;

-- Run remote SQL: dbx_exec() returns the statement's summary as JSON.
SELECT dbx_exec('CREATE TABLE IF NOT EXISTS main.default.quickstart_events (id BIGINT, kind STRING, at TIMESTAMP)') AS created;
SELECT dbx_exec('INSERT INTO main.default.quickstart_events VALUES
                 (1, ''signup'', TIMESTAMP''2024-01-31 10:11:12.5''),
                 (2, ''login'', TIMESTAMP''2024-02-01 08:00:00'')') AS inserted;

-- Read remote rows: one JSON object per row; values travel as :parameters.
SELECT rownum, json_extract(row, '$.kind') AS kind,
       datetime(json_extract(row, '$.at')) AS at
  FROM dbx_query('SELECT * FROM main.default.quickstart_events WHERE id >= :min ORDER BY id',
                 '{"min": 1}');

-- What ran remotely on this connection.
SELECT state, rows, substr(sql, 1, 50) AS sql, params FROM dbx_statements;

-- A remote table as a virtual table: columns come from Unity Catalog.
CREATE VIRTUAL TABLE events USING databricks(table='main.default.quickstart_events');
SELECT id, kind, at FROM events WHERE kind = 'login' AND id > 0;

-- The WHERE terms ran remotely, as typed parameters.
SELECT sql, params FROM dbx_statements ORDER BY rowid DESC LIMIT 1;

-- Join remote rows with a local table.
CREATE TEMP TABLE plans(id INTEGER PRIMARY KEY, plan TEXT);
INSERT INTO plans VALUES (1, 'pro'), (2, 'free');
SELECT e.id, e.kind, p.plan FROM events e JOIN plans p USING (id) ORDER BY e.id;

-- Write rows: INSERT into a databricks table. They are staged locally and
-- land remotely when the transaction commits: Parquet files in a Unity
-- Catalog volume, loaded with one COPY INTO, exactly once. create= makes
-- the remote table at the first commit; ingested_at= holds the commit time.
CREATE VIRTUAL TABLE signups USING databricks(
  table='main.default.quickstart_signups',
  create='id BIGINT, plan STRING, props VARIANT, at TIMESTAMP',
  ingested_at='ingested_at');
BEGIN;
INSERT INTO signups(id, plan, props, at)
  VALUES (10, 'pro', '{"referrer": "ads", "trial": true}', '2024-03-01 09:30:00');
INSERT INTO signups(id, plan, at) SELECT id + 100, plan, '2024-03-02 12:00:00' FROM plans;
COMMIT;

-- The same table reads the committed rows back.
SELECT id, plan, props, at FROM signups ORDER BY id;
SELECT substr(sql, 1, 60) AS sql FROM dbx_statements WHERE sql LIKE 'COPY INTO%';

-- Export a local table in one batch, exactly once; with a watermark each
-- call sends only the rows that are new since the last one.
SELECT json_extract(r, '$.rows') AS rows, json_extract(r, '$.created') AS created,
       json_extract(r, '$.watermark') AS watermark
  FROM (SELECT dbx_export('plans', 'main.default.quickstart_plans', '{"watermark": "id"}') AS r);
INSERT INTO plans VALUES (3, 'team');
SELECT json_extract(dbx_export('plans', 'main.default.quickstart_plans', '{"watermark": "id"}'), '$.rows') AS new_rows;
SELECT * FROM dbx_query('SELECT * FROM main.default.quickstart_plans ORDER BY id');

-- Keep a local table in step with a remote one through its change data
-- feed: user properties upserted on user_id, each call reading only the
-- versions committed since the last (examples/user_properties.sql has more).
SELECT json_extract(dbx_exec('CREATE TABLE IF NOT EXISTS main.default.quickstart_users
                   (user_id BIGINT, plan STRING)
                   TBLPROPERTIES (delta.enableChangeDataFeed = true)'), '$.state') AS created;
SELECT json_extract(dbx_exec('INSERT INTO main.default.quickstart_users VALUES (1, ''free''), (2, ''pro'')'),
                    '$.state') AS inserted;
SELECT json_extract(dbx_sync('main.default.quickstart_users', 'users',
                             '{"kind": "user_properties", "key": "user_id"}'), '$.inserted') AS synced;
SELECT json_extract(dbx_exec('UPDATE main.default.quickstart_users SET plan = ''team'' WHERE user_id = 1'),
                    '$.state') AS upgraded;
SELECT json_extract(r, '$.from') AS from_version, json_extract(r, '$.updated') AS updated
  FROM (SELECT dbx_sync('main.default.quickstart_users', 'users',
                        '{"kind": "user_properties", "key": "user_id"}') AS r);
SELECT user_id, plan FROM users ORDER BY user_id;
