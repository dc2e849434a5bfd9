-- User properties kept in step with a Delta table through its change data
-- feed, as a product analytics tool imports them: inserts and updates
-- become upserts on the user id, deletes are ignored, and each call reads
-- only the versions committed since the last one. The local table and the
-- version reached change together, so a call that dies midway is simply
-- run again.
.load ./build/databricks

-- The remote side: a table of users with the change data feed on.
SELECT json_extract(dbx_exec('CREATE TABLE main.default.crm_users (
                   user_id BIGINT, plan STRING, country STRING, updated_at TIMESTAMP)
                 TBLPROPERTIES (delta.enableChangeDataFeed = true)'), '$.state') AS created;
SELECT json_extract(dbx_exec('INSERT INTO main.default.crm_users VALUES
                   (1, ''free'', ''DE'', TIMESTAMP''2024-05-01 09:00:00''),
                   (2, ''pro'', ''US'', TIMESTAMP''2024-05-01 09:05:00''),
                   (3, ''free'', ''JP'', TIMESTAMP''2024-05-01 09:10:00'')'), '$.state') AS inserted;

-- "Test SQL": the rows the first sync would apply, nothing changed.
SELECT json_array_length(dbx_sync('main.default.crm_users', 'users',
  '{"kind": "user_properties", "key": "user_id", "test": true}'), '$.rows') AS would_apply;

-- The first sync reads every change from the first version and creates
-- the local table with user_id as its PRIMARY KEY.
SELECT json_extract(r, '$.to') AS version, json_extract(r, '$.inserted') AS inserted,
       json_extract(r, '$.created') AS created
  FROM (SELECT dbx_sync('main.default.crm_users', 'users',
          '{"kind": "user_properties", "key": "user_id"}') AS r);

-- Remote changes: an upgrade, a new user, a deleted user.
SELECT json_extract(dbx_exec('UPDATE main.default.crm_users SET plan = ''pro'' WHERE user_id = 1'), '$.state') AS upgraded;
SELECT json_extract(dbx_exec('INSERT INTO main.default.crm_users VALUES (4, ''team'', ''FR'', TIMESTAMP''2024-05-02 08:00:00'')'), '$.state') AS added;
SELECT json_extract(dbx_exec('DELETE FROM main.default.crm_users WHERE user_id = 3'), '$.state') AS deleted;

-- The next sync applies only those versions; the delete is ignored.
SELECT json_extract(r, '$.from') AS from_version, json_extract(r, '$.to') AS to_version,
       json_extract(r, '$.inserted') AS inserted, json_extract(r, '$.updated') AS updated,
       json_extract(r, '$.ignored') AS ignored
  FROM (SELECT dbx_sync('main.default.crm_users', 'users',
          '{"kind": "user_properties", "key": "user_id"}') AS r);

SELECT user_id, plan, country FROM users ORDER BY user_id;
SELECT source, local_table, kind, version FROM dbx_sync_state;
