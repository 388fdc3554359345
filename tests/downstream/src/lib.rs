//! Nothing here: the tests in `tests/` use the published crates as a downstream crate would,
//! through their public APIs only. See `docs/stability.md`.
