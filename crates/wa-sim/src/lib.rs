//! wa-sim: a local stand-in for Meta's WhatsApp Cloud API.
