//! pyo3's `cfg`s for this crate (`Py_LIMITED_API`, `Py_3_10`, `PyPy`, …): which declaration of
//! `PyUnicode_AsUTF8AndSize` a build uses (`read::with_str`).

fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}
