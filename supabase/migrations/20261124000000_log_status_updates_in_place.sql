-- Status updates are most of the activity log's writes: an email goes sent → processed →
-- delivered, a WhatsApp message sent → delivered → read, each an UPDATE of the row. An index on
-- status alone made each of those updates write a new entry into every index of the table. Without
-- it, and with room left on each page (fillfactor 80), PostgreSQL updates the row on its page (a
-- HOT update) and touches no index: in the embedded PGlite, 62-97 µs per updated email row before,
-- 26-33 after.
--
-- Switchboard's own reads do not need these two indexes: single rows are read by id, the journal
-- pages newest first by created_at (filtering on status as it goes), and the stats functions count
-- whole tables. A query for a rare status over a large table now reads more of the created_at
-- index instead. payments and call_logs keep their (status, created_at) indexes: their list
-- endpoints filter by status.
drop index if exists email_logs_status_idx;
drop index if exists whatsapp_logs_status_idx;

-- Applies to pages written from now on; existing pages fill up as before.
alter table email_logs set (fillfactor = 80);
alter table whatsapp_logs set (fillfactor = 80);
alter table crm_messages set (fillfactor = 80);
