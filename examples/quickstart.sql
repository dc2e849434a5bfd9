-- sqlite-databricks quickstart: run with `make demo`, which starts dbx-local
-- (a local Databricks workspace) and sets DATABRICKS_HOST, DATABRICKS_TOKEN
-- and DATABRICKS_WAREHOUSE_ID for this shell.
.load ./build/databricks

-- Which extension and libraries are running.
SELECT dbx_version() AS version;
