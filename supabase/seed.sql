-- Data only (schema lives in migrations/). A fresh local database starts in mock mode for every
-- service; the services would seed the same rows themselves at first start.
insert into settings (key, value, updated_by) values
  ('mode.email', '"mock"', 'seed'),
  ('mode.whatsapp', '"mock"', 'seed'),
  ('mode.payments', '"mock"', 'seed'),
  ('mode.voice', '"mock"', 'seed'),
  ('mode.zoom', '"mock"', 'seed')
on conflict (key) do nothing;
