-- fedauth: the audit log of the admin API (fedauth-admin's PostgreSQL
-- store), one row per change, inserted in the same transaction as the
-- change itself. `seq` orders it: the store serializes its changes, so a
-- row's seq is also its commit order.
CREATE TABLE IF NOT EXISTS fedauth_audit (
    seq bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    registration text NOT NULL,
    property text,
    before jsonb,
    after jsonb
);

CREATE INDEX IF NOT EXISTS fedauth_audit_by_registration
    ON fedauth_audit (registration, seq);
CREATE INDEX IF NOT EXISTS fedauth_audit_by_property
    ON fedauth_audit (property, seq) WHERE property IS NOT NULL;
