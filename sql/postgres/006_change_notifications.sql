-- 006_change_notifications.sql - tell every connection's caches what
-- changed (PostgreSQL only; SQLite's 006 is sql/sqlite/006_portable_names.sql,
-- and SQLite readers compare the WAL-index header instead).
--
-- lib/db_pg.c LISTENs on ia_cache on every connection. A commit that
-- changes a user row notifies that user's id; one that changes a user's
-- flags notifies the user's id; one that changes flags notifies '0'
-- (everything). Triggers, not application code, so that changes made
-- from psql or another host reach every cache too. Notifications are
-- sent at COMMIT, dropped on ROLLBACK, and a transaction's duplicates are
-- folded into one.

CREATE FUNCTION ia_notify_user_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('ia_cache', OLD.id::text);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id THEN
        PERFORM pg_notify('ia_cache', NEW.id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION ia_notify_user_flag_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('ia_cache', OLD.user_id::text);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('ia_cache', NEW.user_id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION ia_notify_everything() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ia_cache', '0');
    RETURN NULL;
END
$$;

CREATE TRIGGER users_notify_cache AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION ia_notify_user_row();
CREATE TRIGGER users_truncate_notify_cache AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION ia_notify_everything();

CREATE TRIGGER user_flags_notify_cache AFTER INSERT OR UPDATE OR DELETE ON user_flags
    FOR EACH ROW EXECUTE FUNCTION ia_notify_user_flag_row();
CREATE TRIGGER user_flags_truncate_notify_cache AFTER TRUNCATE ON user_flags
    FOR EACH STATEMENT EXECUTE FUNCTION ia_notify_everything();

CREATE TRIGGER flags_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flags
    FOR EACH STATEMENT EXECUTE FUNCTION ia_notify_everything();
