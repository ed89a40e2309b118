-- Lookups show an event's Resources from the resources column instead of parsing each record. Version 1
-- kept resource types and names apart (0002 paired them as [type, null] and [null, name]) and kept
-- nothing for resources naming neither, so the column is rebuilt from the records themselves, as
-- ingest reads them: [[type, ARN], ...] in the record's order, NULL when there are none.
UPDATE events SET resources = (
    SELECT json_group_array(json_array(r.value ->> 'type', r.value ->> 'ARN'))
    FROM json_each(CAST(events.record AS TEXT), '$.resources') r
)
WHERE resources IS NOT NULL
   OR json_array_length(CAST(record AS TEXT), '$.resources') > 0;
