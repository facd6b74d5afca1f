-- Painel alerts sent as webhook events (issue 15): which alerts a company has active now, so a
-- minute's check raises each once and clears it once.
CREATE TABLE report_alert_state (
    tenant_id BIGINT NOT NULL,
    code TEXT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, code)
);
-- Time online per person and UTC hour, credited from presence heartbeats (at most the online
-- window per gap, never while away).
CREATE TABLE agent_online (
    tenant_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    seconds BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, hour)
);
