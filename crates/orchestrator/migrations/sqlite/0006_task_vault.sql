-- The reflex layer's vault entry holding the values behind the goal's
-- placeholders ([EMAIL_1]); NULL when the goal had none or the task opted out.
ALTER TABLE tasks ADD COLUMN vault_id TEXT;
