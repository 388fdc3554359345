//! `kensho_extract._native`: what the Python package `kensho_extract` is made of. The Python
//! side (`python/kensho_extract`) names and documents it; this crate depends on the other crates
//! of the workspace as any downstream crate does, and adds only the crossing into Python.
//!
//! Two rules hold throughout: the GIL is released while Rust waits on the network or converts
//! a document (`runtime::wait`, `py.detach`), so Python threads run in parallel; and every
//! failure becomes one of the exceptions of `kensho_extract.errors` (`failure.rs`), whose
//! messages come from errors that already keep secrets out.

use pyo3::prelude::*;

mod batch;
mod client;
mod convert;
mod document;
mod failure;
mod options;
mod read;
mod runtime;
mod settings;
mod store;

/// The extension's own allocations (the model a document is read into, the converters' work)
/// go to mimalloc rather than the C library's malloc, which Python's objects keep using. A read
/// makes one small allocation per string and list of the document; glibc's malloc spent a
/// quarter of a kenverters call on them, in consolidating its free lists most of all.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `gil_used`: a read walks a document's dicts and lists by borrowed reference, sound because
/// no other thread runs Python code meanwhile; a free-threaded interpreter turns its GIL back on
/// for this module.
#[pymodule(gil_used = true)]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<document::Document>()?;
    module.add_class::<document::Table>()?;
    module.add_class::<client::Client>()?;
    module.add_class::<client::Job>()?;
    module.add_class::<client::JobStatus>()?;
    module.add_class::<batch::BatchReport>()?;
    convert::register(module)?;
    Ok(())
}
