-- Orleans system tables for Stevedore on PostgreSQL 15+.
-- Implements the Orleans ADO.NET provider contract (clustering, grain persistence, reminders; Invariant "Npgsql"):
-- the providers read their statements from OrleansQuery at startup, bind the named @parameters and read the result
-- columns by name, so the aliases below ("Version", "NewGrainStateVersion", ...) are part of that contract.
-- Idempotent: safe to run again; it creates missing objects and refreshes functions and query texts.
-- Runs as a single script inside one transaction (no psql meta-commands).
-- Time values are timestamptz; Orleans passes UTC DateTime values.

CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey   varchar(64) PRIMARY KEY,
    QueryText  text NOT NULL
);

-- ---------------------------------------------------------------------------------------------------------------
-- Clustering. One version row per cluster (Orleans' DeploymentId = ClusterId) acts as the table-wide etag:
-- every successful insert/update of a silo row must name the version it read and bumps it by one.

CREATE TABLE IF NOT EXISTS orleans_membership_version (
    deployment_id  text PRIMARY KEY,
    version        integer NOT NULL DEFAULT 0,
    changed_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS orleans_membership (
    deployment_id    text NOT NULL REFERENCES orleans_membership_version (deployment_id) ON DELETE CASCADE,
    address          text NOT NULL,
    port             integer NOT NULL,
    generation       integer NOT NULL,
    silo_name        text NOT NULL,
    host_name        text NOT NULL,
    status           integer NOT NULL,
    proxy_port       integer NOT NULL DEFAULT 0,
    suspect_times    text NULL,
    start_time       timestamptz NOT NULL,
    i_am_alive_time  timestamptz NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

-- Inserts a silo row if the cluster version still equals p_expected_version; bumps the version on success.
-- Returns false (and changes nothing) on a version mismatch or if the silo row already exists.
CREATE OR REPLACE FUNCTION orleans_membership_insert(
    p_deployment_id    text,
    p_address          text,
    p_port             integer,
    p_generation       integer,
    p_silo_name        text,
    p_host_name        text,
    p_status           integer,
    p_proxy_port       integer,
    p_start_time       timestamptz,
    p_i_am_alive_time  timestamptz,
    p_expected_version integer)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
DECLARE
    current_version integer;
BEGIN
    -- Locking the version row serialises all membership writers of this cluster.
    SELECT version INTO current_version
      FROM orleans_membership_version
     WHERE deployment_id = p_deployment_id
       FOR UPDATE;
    IF current_version IS NULL OR current_version IS DISTINCT FROM p_expected_version THEN
        RETURN false;
    END IF;

    INSERT INTO orleans_membership (deployment_id, address, port, generation, silo_name, host_name, status,
                                    proxy_port, start_time, i_am_alive_time)
    VALUES (p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status,
            coalesce(p_proxy_port, 0), p_start_time, p_i_am_alive_time)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE orleans_membership_version
       SET version = version + 1, changed_at = now()
     WHERE deployment_id = p_deployment_id;
    RETURN true;
END
$fn$;

-- Updates a silo row if the cluster version still equals p_expected_version; bumps the version on success.
CREATE OR REPLACE FUNCTION orleans_membership_update(
    p_deployment_id    text,
    p_address          text,
    p_port             integer,
    p_generation       integer,
    p_status           integer,
    p_suspect_times    text,
    p_i_am_alive_time  timestamptz,
    p_expected_version integer)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
DECLARE
    current_version integer;
BEGIN
    SELECT version INTO current_version
      FROM orleans_membership_version
     WHERE deployment_id = p_deployment_id
       FOR UPDATE;
    IF current_version IS NULL OR current_version IS DISTINCT FROM p_expected_version THEN
        RETURN false;
    END IF;

    UPDATE orleans_membership
       SET status = p_status, suspect_times = p_suspect_times, i_am_alive_time = p_i_am_alive_time
     WHERE deployment_id = p_deployment_id
       AND address = p_address AND port = p_port AND generation = p_generation;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE orleans_membership_version
       SET version = version + 1, changed_at = now()
     WHERE deployment_id = p_deployment_id;
    RETURN true;
END
$fn$;

-- ---------------------------------------------------------------------------------------------------------------
-- Grain persistence. A row is identified by service, grain type and grain id (hashes for the index, the full
-- values for exactness); version is the etag Orleans hands back on the next write.

CREATE TABLE IF NOT EXISTS orleans_storage (
    service_id          text NOT NULL,
    grain_type_hash     integer NOT NULL,
    grain_id_hash       integer NOT NULL,
    grain_id_n0         bigint NOT NULL,
    grain_id_n1         bigint NOT NULL,
    grain_type          text NOT NULL,
    grain_id_extension  text NULL,
    payload_binary      bytea NULL,
    version             integer NOT NULL,
    modified_on         timestamptz NOT NULL DEFAULT now()
);

-- NULLS NOT DISTINCT (PostgreSQL 15+): grains without a key extension still get exactly one row.
CREATE UNIQUE INDEX IF NOT EXISTS orleans_storage_grain
    ON orleans_storage (service_id, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1, grain_type,
                        grain_id_extension)
    NULLS NOT DISTINCT;

-- ---------------------------------------------------------------------------------------------------------------
-- Reminders. grain_hash is the grain's uniform hash stored as a signed integer (Orleans casts uint -> int);
-- the range queries below compare in that signed space, as Orleans expects.

CREATE TABLE IF NOT EXISTS orleans_reminders (
    service_id     text NOT NULL,
    grain_id       text NOT NULL,
    reminder_name  text NOT NULL,
    start_time     timestamptz NOT NULL,
    period_ms      bigint NOT NULL,
    grain_hash     integer NOT NULL,
    version        integer NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
);

CREATE INDEX IF NOT EXISTS orleans_reminders_by_hash ON orleans_reminders (service_id, grain_hash);

-- ---------------------------------------------------------------------------------------------------------------
-- Query texts. Result column names are matched by the providers; keep the quoted aliases.

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Clustering --------------------------------------------------------------------------------------------------
('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO orleans_membership_version (deployment_id) VALUES (@DeploymentId)
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) > 0 AS "Created" FROM created;
$q$),

('InsertMembershipKey', $q$
SELECT orleans_membership_insert(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status,
                                 @ProxyPort, @StartTime, @IAmAliveTime, @Version) AS "Inserted";
$q$),

('UpdateMembershipKey', $q$
SELECT orleans_membership_update(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes,
                                 @IAmAliveTime, @Version) AS "Updated";
$q$),

('UpdateIAmAlivetimeKey', $q$
UPDATE orleans_membership
   SET i_am_alive_time = @IAmAliveTime
 WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;
$q$),

-- One row per silo; the version row is outer-joined so an empty cluster still yields one row carrying "Version".
('MembershipReadRowKey', $q$
SELECT m.address AS "Address", m.port AS "Port", m.generation AS "Generation", m.silo_name AS "SiloName",
       m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
       m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime",
       v.version AS "Version"
  FROM orleans_membership_version v
  LEFT JOIN orleans_membership m
         ON m.deployment_id = v.deployment_id
        AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
 WHERE v.deployment_id = @DeploymentId;
$q$),

('MembershipReadAllKey', $q$
SELECT m.address AS "Address", m.port AS "Port", m.generation AS "Generation", m.silo_name AS "SiloName",
       m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
       m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime",
       v.version AS "Version"
  FROM orleans_membership_version v
  LEFT JOIN orleans_membership m ON m.deployment_id = v.deployment_id
 WHERE v.deployment_id = @DeploymentId;
$q$),

('GatewaysQueryKey', $q$
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
  FROM orleans_membership
 WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0;
$q$),

('DeleteMembershipTableEntriesKey', $q$
DELETE FROM orleans_membership WHERE deployment_id = @DeploymentId;
DELETE FROM orleans_membership_version WHERE deployment_id = @DeploymentId;
$q$),

-- Removes stale rows of silos that are no longer Active (SiloStatus.Active = 3); the version is not bumped.
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM orleans_membership
 WHERE deployment_id = @DeploymentId AND i_am_alive_time < @IAmAliveTime AND status <> 3;
$q$),

-- Grain persistence -------------------------------------------------------------------------------------------
-- Returns at most one row. @GrainStateVersion NULL means "first write": insert with version 1 unless a row
-- exists. Otherwise update only if the stored version matches. No row back = etag conflict.
('WriteToStorageKey', $q$
WITH updated AS (
    UPDATE orleans_storage
       SET payload_binary = @PayloadBinary, version = version + 1, modified_on = now()
     WHERE @GrainStateVersion IS NOT NULL
       AND service_id = @ServiceId AND grain_type_hash = @GrainTypeHash AND grain_id_hash = @GrainIdHash
       AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1 AND grain_type = @GrainTypeString
       AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
       AND version = @GrainStateVersion
    RETURNING version
), inserted AS (
    INSERT INTO orleans_storage (service_id, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1, grain_type,
                                 grain_id_extension, payload_binary, version, modified_on)
    SELECT @ServiceId, @GrainTypeHash, @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeString,
           @GrainIdExtensionString, @PayloadBinary, 1, now()
     WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM updated
UNION ALL
SELECT version FROM inserted;
$q$),

('ReadFromStorageKey', $q$
SELECT payload_binary AS "PayloadBinary", version AS "Version"
  FROM orleans_storage
 WHERE service_id = @ServiceId AND grain_type_hash = @GrainTypeHash AND grain_id_hash = @GrainIdHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1 AND grain_type = @GrainTypeString
   AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString;
$q$),

-- Keeps the row (payload NULL) and bumps the version, so the grain's next write carries a valid etag.
('ClearStorageKey', $q$
UPDATE orleans_storage
   SET payload_binary = NULL, version = version + 1, modified_on = now()
 WHERE service_id = @ServiceId AND grain_type_hash = @GrainTypeHash AND grain_id_hash = @GrainIdHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1 AND grain_type = @GrainTypeString
   AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
   AND version = @GrainStateVersion
RETURNING version AS "NewGrainStateVersion";
$q$),

-- Optional key, used only with AdoNetGrainStorageOptions.DeleteStateOnClear = true. Orleans expects the
-- deleted version + 1 back on success.
('DeleteStorageKey', $q$
DELETE FROM orleans_storage
 WHERE service_id = @ServiceId AND grain_type_hash = @GrainTypeHash AND grain_id_hash = @GrainIdHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1 AND grain_type = @GrainTypeString
   AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
   AND version = @GrainStateVersion
RETURNING version + 1 AS "NewGrainStateVersion";
$q$),

-- Reminders ---------------------------------------------------------------------------------------------------
('UpsertReminderRowKey', $q$
INSERT INTO orleans_reminders (service_id, grain_id, reminder_name, start_time, period_ms, grain_hash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 1)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
   SET start_time = EXCLUDED.start_time,
       period_ms  = EXCLUDED.period_ms,
       grain_hash = EXCLUDED.grain_hash,
       version    = orleans_reminders.version + 1
RETURNING version AS "Version";
$q$),

('ReadReminderRowsKey', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period_ms AS "Period", version AS "Version"
  FROM orleans_reminders
 WHERE service_id = @ServiceId AND grain_id = @GrainId;
$q$),

('ReadReminderRowKey', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period_ms AS "Period", version AS "Version"
  FROM orleans_reminders
 WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName;
$q$),

-- Ring range (@BeginHash, @EndHash] that does not wrap around (used when BeginHash < EndHash as signed ints).
('ReadRangeRows1Key', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period_ms AS "Period", version AS "Version"
  FROM orleans_reminders
 WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash;
$q$),

-- Ring range that wraps around (BeginHash >= EndHash as signed ints; equal bounds mean the whole ring).
('ReadRangeRows2Key', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period_ms AS "Period", version AS "Version"
  FROM orleans_reminders
 WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash);
$q$),

-- Returns one boolean row: true if the row with the given etag was deleted.
('DeleteReminderRowKey', $q$
WITH deleted AS (
    DELETE FROM orleans_reminders
     WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
       AND version = @Version
    RETURNING 1
)
SELECT count(*) > 0 AS "Deleted" FROM deleted;
$q$),

('DeleteReminderRowsKey', $q$
DELETE FROM orleans_reminders WHERE service_id = @ServiceId;
$q$)

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
