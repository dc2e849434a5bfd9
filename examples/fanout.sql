-- Fan-out: one local event table exported to two Delta tables, each with
-- its own filter, as an analytics team sends checkouts to one table and
-- engagement to another. Each (source, target) pair keeps its own
-- watermark, so every call sends only the events that are new to it.
.load ./build/databricks

CREATE TABLE IF NOT EXISTS app_events(
  event_id INTEGER PRIMARY KEY, event_type TEXT, user_id TEXT,
  event_time DATETIME, event_properties JSON);
INSERT INTO app_events(event_type, user_id, event_time, event_properties) VALUES
  ('checkout', 'u-1', '2024-05-01 10:00:00', '{"total": 42.5, "items": 3}'),
  ('page_view', 'u-1', '2024-05-01 10:01:00', '{"path": "/cart"}'),
  ('checkout', 'u-2', '2024-05-01 10:02:00', '{"total": 9.99, "items": 1}'),
  ('button_click', 'u-3', '2024-05-01 10:03:00', '{"id": "signup"}');

-- Checkouts, into a table with Amplitude's event schema.
SELECT dbx_export(
  'SELECT event_id, event_type, user_id, event_time, event_properties
     FROM app_events WHERE event_type = ''checkout''',
  'main.default.checkout_events',
  '{"watermark": "event_id", "model": "amplitude_events"}') AS checkouts;

-- Everything else, into a table made from the local columns.
SELECT dbx_export(
  'SELECT * FROM app_events WHERE event_type <> ''checkout''',
  'main.default.engagement_events',
  '{"watermark": "event_id"}') AS engagement;

SELECT source, target, seq, watermark FROM dbx_export_state;
