//! Zero-setup development mode: a private PostgreSQL cluster and a generated JWT key
//! when nothing is configured.
