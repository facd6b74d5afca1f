-- A connection's Graph base URL is trusted (reached without the network guard) only when the
-- server's operator set it or it is Meta's own; one a company admin typed passes the guard on
-- every call.
ALTER TABLE connections ADD COLUMN graph_url_trusted BIGINT NOT NULL DEFAULT 0;
UPDATE connections SET graph_url_trusted = 1 WHERE graph_url = 'https://graph.facebook.com';
