-- fedauth: the application registry (registry.md), one row per registration.
-- The registration is stored in its JSON form, exactly as written; it is
-- validated with the registry file's rules every time it is read.
CREATE TABLE IF NOT EXISTS fedauth_registrations (
    id text PRIMARY KEY
        CHECK (char_length(id) BETWEEN 1 AND 128 AND id ~ '^[!-~]+$'),
    registration jsonb NOT NULL
        CHECK (jsonb_typeof(registration) = 'object' AND registration->>'id' = id),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every change notifies channel `fedauth_registrations` with the id concerned
-- (an empty payload after TRUNCATE: everything changed), so that every
-- instance drops its cached entry within a second.
CREATE OR REPLACE FUNCTION fedauth_registrations_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('fedauth_registrations', NEW.id);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM pg_notify('fedauth_registrations', OLD.id);
        IF NEW.id <> OLD.id THEN
            PERFORM pg_notify('fedauth_registrations', NEW.id);
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('fedauth_registrations', OLD.id);
    ELSE
        PERFORM pg_notify('fedauth_registrations', '');
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS fedauth_registrations_changed ON fedauth_registrations;
CREATE TRIGGER fedauth_registrations_changed
    AFTER INSERT OR UPDATE OR DELETE ON fedauth_registrations
    FOR EACH ROW EXECUTE FUNCTION fedauth_registrations_notify();

DROP TRIGGER IF EXISTS fedauth_registrations_truncated ON fedauth_registrations;
CREATE TRIGGER fedauth_registrations_truncated
    AFTER TRUNCATE ON fedauth_registrations
    FOR EACH STATEMENT EXECUTE FUNCTION fedauth_registrations_notify();
