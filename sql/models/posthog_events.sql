-- description: PostHog events: one row per event, appended (immutable model)
-- merge_keys:
-- version_columns:
-- ingested_at: databricks_ingested_timestamp
uuid STRING,
event STRING,
properties VARIANT,
distinct_id STRING,
team_id BIGINT,
timestamp TIMESTAMP,
databricks_ingested_timestamp TIMESTAMP
