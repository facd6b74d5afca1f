-- Timed rules per department (department_id 0: tickets without one, the chatbot's included):
-- close a ticket the customer left idle for N minutes after the business's last message (with
-- a message), and move a ticket nobody took for N minutes to another department.
CREATE TABLE timed_rules (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    department_id BIGINT NOT NULL,
    close_idle_minutes BIGINT NOT NULL DEFAULT 0,
    close_message TEXT NOT NULL DEFAULT '',
    transfer_after_minutes BIGINT NOT NULL DEFAULT 0,
    transfer_to BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, department_id)
);
