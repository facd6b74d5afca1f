-- WhatsApp by QR code: the QR (or pairing code) a connection waits on, the number its phone
-- linked, and how many reconnection attempts in a row it has made since it dropped. Messages the
-- business wrote on its own phone say so (`origin = 'phone'`).
ALTER TABLE connections ADD COLUMN qr_code TEXT;
ALTER TABLE connections ADD COLUMN pairing_code TEXT;
ALTER TABLE connections ADD COLUMN linked_phone TEXT;
ALTER TABLE connections ADD COLUMN reconnect_attempt BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN origin TEXT;
