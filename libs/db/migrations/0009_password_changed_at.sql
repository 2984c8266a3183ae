-- When the employee's password last changed. The API refuses access tokens issued before it
-- (services/api/src/auth/authenticate.ts), so a changed or reset password ends every session
-- holding an older token. NULL: not changed since this column exists; tokens stay valid until
-- they expire (JWT_TTL_SECONDS). Not part of api_json: rota_employee_json names its columns.
ALTER TABLE employees ADD COLUMN password_changed_at timestamptz;
