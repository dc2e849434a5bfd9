-- description: PostHog persons: one row per (team_id, distinct_id) with its person and latest properties, merged by version (mutable model)
-- merge_keys: team_id, distinct_id
-- version_columns: person_version, person_distinct_id_version
-- ingested_at:
team_id BIGINT,
distinct_id STRING,
person_id STRING,
properties VARIANT,
person_version BIGINT,
person_distinct_id_version BIGINT,
created_at TIMESTAMP
