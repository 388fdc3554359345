//! Python objects read straight into the typed model: a serde `Deserializer` over the `dict`s,
//! `list`s, `str`s and numbers that `json.load` makes.
//!
//! Why not pythonize, which `to_python` uses the other way: reading a document is the whole cost
//! of a kenverters call from Python (the conversion itself is a tenth of it), and pythonize pays
//! for generality on every object: a list of keys and one of values per dict, each key turned
//! into a new Python `bytes` and then a `String`. Here dicts are walked in place, a key the
//! model knows is matched once per distinct key object (json's decoder shares one object per
//! key text) and then handed over as a `&'static str`, and built-in types are recognised by
//! their type flags. Only what JSON holds is read (dicts with `str` keys, lists and tuples,
//! strings, numbers, booleans, `None`, and their subclasses), nested at most as deep as
//! serde_json reads JSON text: no input can exhaust the stack.

use std::cell::RefCell;
use std::fmt;

use pyo3::PyTypeInfo;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// The field names of the model's types: a key with one of these texts is given to the model
/// without an allocation.
const KNOWN_KEYS: &[&str] = &[
    "annotations",
    "character_offsets",
    "children",
    "content",
    "content_tree",
    "content_uids",
    "data",
    "height",
    "index",
    "is_column_header",
    "is_projected_row_header",
    "locations",
    "output",
    "page_number",
    "pdf_pages",
    "relation_type",
    "required_ccw_rotation",
    "source_content_uid",
    "span",
    "status",
    "target_content_uid",
    "text_locations",
    "text_node_data",
    "texts",
    "type",
    "uid",
    "value",
    "width",
    "x",
    "y",
    "metadata",
    "error",
];

/// How deep containers may nest: serde_json's limit for JSON text, so a document reads the same
/// from a dict as from its text.
const MAX_DEPTH: usize = 128;

/// Distinct key objects remembered per read: enough for every key of a document, and a bound on
/// the linear search a hostile document with many distinct keys could otherwise cause.
const KEY_CACHE: usize = 64;

/// Reads `object` as a `T` as if no dict in it had the keys `unread` (each one of the model's
/// field names): for a conversion that does not look at those fields, whose values are then
/// neither walked nor checked. A document's boxes and character offsets are most of its
/// objects, and Markdown, text, sections and table grids use none of them.
pub fn read_without<T: DeserializeOwned>(
    object: &Bound<'_, PyAny>,
    unread: &'static [&'static str],
) -> Result<T, Error> {
    let keys = Keys::new(unread);
    T::deserialize(Reader {
        object: object.as_borrowed(),
        keys: &keys,
        depth: 0,
    })
}

/// Why a read failed.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Error {
        Error(message.to_string())
    }
}

impl From<PyErr> for Error {
    fn from(error: PyErr) -> Error {
        Error(error.to_string())
    }
}

/// Key objects seen in this read, each with the known text it has, if any: a small table
/// addressed by the object's address. The objects are held, so no address in the table can be
/// taken by another object while the read lasts.
struct Keys<'py> {
    held: RefCell<Vec<Bound<'py, PyString>>>,
    slots: RefCell<[Slot; SLOTS]>,
    /// Known keys whose entries are passed over.
    unread: &'static [&'static str],
}

/// A key object's address and the known text it has; `None` is a free slot.
type Slot = Option<(usize, Option<&'static str>)>;

/// Slots of the key table: twice the keys it remembers, so probes stay short.
const SLOTS: usize = 2 * KEY_CACHE;

impl<'py> Keys<'py> {
    fn new(unread: &'static [&'static str]) -> Self {
        Keys {
            held: RefCell::new(Vec::new()),
            slots: RefCell::new([None; SLOTS]),
            unread,
        }
    }

    /// The known text of `key`, or `None` for a key the model does not know.
    fn known(&self, key: Borrowed<'_, 'py, PyString>) -> Result<Option<&'static str>, Error> {
        let address = key.as_ptr() as usize;
        // Objects are 16-byte aligned: the low bits say nothing.
        let start = ((address >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % SLOTS;
        let mut slots = self.slots.borrow_mut();
        let mut free = None;
        for probe in 0..SLOTS {
            let at = (start + probe) % SLOTS;
            match slots[at] {
                Some((seen, known)) if seen == address => return Ok(known),
                Some(_) => {}
                None => {
                    free = Some(at);
                    break;
                }
            }
        }
        let known = with_str(&key, |text| {
            Ok(KNOWN_KEYS.iter().copied().find(|k| *k == text))
        })?;
        let mut held = self.held.borrow_mut();
        if let Some(at) = free
            && held.len() < KEY_CACHE
        {
            held.push(key.to_owned());
            slots[at] = Some((address, known));
        }
        Ok(known)
    }
}

/// One object being read, borrowed from the container it is in (the outermost from the
/// caller): a document's objects are read without a reference count taken or dropped.
struct Reader<'o, 'k, 'py> {
    object: Borrowed<'o, 'py, PyAny>,
    keys: &'k Keys<'py>,
    /// Containers around this object.
    depth: usize,
}

impl<'o, 'k, 'py> Reader<'o, 'k, 'py> {
    /// A reader for an item of this (container) object.
    fn at(&self, object: Borrowed<'o, 'py, PyAny>) -> Reader<'o, 'k, 'py> {
        Reader {
            object,
            keys: self.keys,
            depth: self.depth + 1,
        }
    }

    /// Refuses a container nested too deep.
    fn enter(&self) -> Result<(), Error> {
        match self.depth < MAX_DEPTH {
            true => Ok(()),
            false => Err(Error(format!("nested deeper than {MAX_DEPTH} levels"))),
        }
    }

    /// The error for an object JSON cannot hold.
    fn unsupported(&self, expected: &str) -> Error {
        let type_name = self
            .object
            .get_type()
            .name()
            .map_or_else(|_| "?".to_string(), |n| n.to_string());
        Error(format!("expected {expected}, found a {type_name}"))
    }

    /// Gives this `int` to `visitor`: as an `i64`, else a `u64` (a larger one, or one below
    /// the `i64` range, is refused). An `int` past the `i64` range raises no exception on the
    /// way: an exception is an object the cyclic garbage collector tracks, and making one may
    /// run a collection (Python 3.9 to 3.11 collect on allocation), whose finalizers could
    /// change the containers this read borrows from while the read goes on. Only a failure
    /// that ends the read makes one.
    #[allow(unsafe_code)]
    fn visit_int<'de, V: Visitor<'de>>(&self, visitor: V) -> Result<V::Value, Error> {
        let py = self.object.py();
        let mut overflow: std::ffi::c_int = 0;
        // SAFETY: the object is a live `int` (or a subclass: the callers checked), for which
        // this reads the value without running Python code; `overflow` is a valid place.
        let n =
            unsafe { pyo3::ffi::PyLong_AsLongLongAndOverflow(self.object.as_ptr(), &mut overflow) };
        match overflow {
            0 if n == -1 && PyErr::occurred(py) => Err(PyErr::fetch(py).into()),
            0 => visitor.visit_i64(n),
            // Past `i64::MAX`: a `u64`, else an error, which ends the read.
            1 => visitor.visit_u64(self.object.extract()?),
            _ => Err(Error("an integer below the 64-bit range".into())),
        }
    }

    /// Gives this `str` to `visitor` borrowed: a `String` field copies it once, an enum
    /// matches it without a copy.
    fn visit_text<'de, V: Visitor<'de>>(&self, visitor: V) -> Result<V::Value, Error> {
        match as_a::<PyString>(self.object) {
            Some(string) => with_str(&string, |text| visitor.visit_str(text)),
            None => Err(self.unsupported("a str")),
        }
    }
}

/// `object` as a `T`, borrowed for as long: the exact type by comparing type pointers, a
/// subclass by the type's flags (a call into the interpreter under the stable ABI, so second).
fn as_a<'o, 'py, T: PyTypeInfo>(object: Borrowed<'o, 'py, PyAny>) -> Option<Borrowed<'o, 'py, T>> {
    object
        .cast_exact::<T>()
        .or_else(|_| object.cast::<T>())
        .ok()
}

/// `PyList_GetItem` or `PyTuple_GetItem`.
type GetItem = unsafe extern "C" fn(
    *mut pyo3::ffi::PyObject,
    pyo3::ffi::Py_ssize_t,
) -> *mut pyo3::ffi::PyObject;

/// Item `index` of `sequence` (a list given `PyList_GetItem`, a tuple given `PyTuple_GetItem`),
/// borrowed from it.
#[allow(unsafe_code)]
fn item<'o, 'py>(
    sequence: Borrowed<'o, 'py, PyAny>,
    index: usize,
    get_item: GetItem,
) -> Result<Borrowed<'o, 'py, PyAny>, Error> {
    let index = pyo3::ffi::Py_ssize_t::try_from(index)
        .map_err(|_| Error("a list too long to index".into()))?;
    // SAFETY: `sequence` is a live object of the type `get_item` takes (the caller matched
    // them), which returns a borrowed reference, or null with an exception set (an index out of
    // range), turned into an error. The item stays alive while `sequence` holds it, and
    // `sequence` is not changed while the read borrows it: no Python code runs during a read,
    // whose caller holds the GIL throughout.
    Ok(unsafe { Borrowed::from_ptr_or_err(sequence.py(), get_item(sequence.as_ptr(), index))? })
}

/// The entry of `dict` at `position` (`PyDict_Next`'s cursor, which it moves on), borrowed from
/// it; `None` past the last.
#[allow(unsafe_code)]
fn dict_entry<'o, 'py>(
    dict: Borrowed<'o, 'py, PyDict>,
    position: &mut pyo3::ffi::Py_ssize_t,
) -> Option<(Borrowed<'o, 'py, PyAny>, Borrowed<'o, 'py, PyAny>)> {
    let mut key = std::ptr::null_mut();
    let mut value = std::ptr::null_mut();
    // SAFETY: `dict` is a live dict and the out-pointers are valid. `PyDict_Next` gives
    // borrowed references, alive while `dict` holds them; `dict` is not changed while the read
    // borrows it (no Python code runs during a read, whose caller holds the GIL throughout), so
    // the cursor stays valid and the references too.
    unsafe {
        if pyo3::ffi::PyDict_Next(dict.as_ptr(), position, &mut key, &mut value) == 0 {
            return None;
        }
        Some((
            Borrowed::from_ptr(dict.py(), key),
            Borrowed::from_ptr(dict.py(), value),
        ))
    }
}

/// Runs `f` on the UTF-8 text of `string`, borrowed from the `str` itself.
///
/// `PyUnicode_AsUTF8AndSize` is in the stable ABI from Python 3.10 on, and exported with the
/// same signature and meaning by every CPython since 3.3, so the abi3 wheel for 3.9 calls it by
/// name (`Py_LIMITED_API` below 3.10), where the interpreter's symbols are what an extension
/// links to: not on Windows, whose 3.9 `python3.dll` forwards only the 3.9 stable ABI. A build
/// for one interpreter (PyPy, free-threaded CPython) takes pyo3's declaration. An ASCII `str`
/// hands out its own bytes; any other is encoded once and the encoding kept by the `str` (what
/// pyo3 does outside abi3).
#[cfg(any(Py_3_10, not(Py_LIMITED_API), not(windows)))]
#[allow(unsafe_code)]
fn with_str<T>(
    string: &Bound<'_, PyString>,
    f: impl FnOnce(&str) -> Result<T, Error>,
) -> Result<T, Error> {
    #[cfg(all(Py_LIMITED_API, not(Py_3_10)))]
    unsafe extern "C" {
        fn PyUnicode_AsUTF8AndSize(
            unicode: *mut pyo3::ffi::PyObject,
            size: *mut pyo3::ffi::Py_ssize_t,
        ) -> *const std::ffi::c_char;
    }
    #[cfg(any(Py_3_10, not(Py_LIMITED_API)))]
    use pyo3::ffi::PyUnicode_AsUTF8AndSize;
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `string` is a live `str` (held for this call, with the GIL); `size` is a valid
    // place to write to.
    let data = unsafe { PyUnicode_AsUTF8AndSize(string.as_ptr(), &mut size) };
    if data.is_null() {
        // A lone surrogate, which UTF-8 cannot hold (the error ends the read).
        return Err(PyErr::fetch(string.py()).into());
    }
    let size = usize::try_from(size).map_err(|_| Error("a str of negative size".into()))?;
    // SAFETY: CPython returns `size` bytes of valid UTF-8 (it refuses what it cannot encode),
    // owned by `string`, which outlives `f`, and changed by nothing while `f` runs (no Python
    // code runs during a read).
    let text = unsafe {
        std::str::from_utf8_unchecked(std::slice::from_raw_parts(data.cast::<u8>(), size))
    };
    f(text)
}

/// Runs `f` on the UTF-8 text of `string`: encoded into a `bytes`, which is borrowed (the 3.9
/// stable ABI, all Windows links to, has no way to borrow a `str`'s UTF-8).
#[cfg(all(Py_LIMITED_API, not(Py_3_10), windows))]
fn with_str<T>(
    string: &Bound<'_, PyString>,
    f: impl FnOnce(&str) -> Result<T, Error>,
) -> Result<T, Error> {
    let bytes = string.encode_utf8()?;
    let text = std::str::from_utf8(bytes.as_bytes())
        .map_err(|_| Error("a str that is not valid Unicode".into()))?;
    f(text)
}

impl<'de> de::Deserializer<'de> for Reader<'_, '_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let object = &self.object;
        // The types `json.load` makes, by a comparison of type pointers; their subclasses (and
        // `None`, `bool`) by the checks below.
        if object.is_exact_instance_of::<PyString>() {
            return self.visit_text(visitor);
        } else if object.is_exact_instance_of::<PyInt>() {
            return self.visit_int(visitor);
        } else if object.is_exact_instance_of::<PyDict>() {
            return self.deserialize_map(visitor);
        } else if object.is_exact_instance_of::<PyList>() {
            return self.deserialize_seq(visitor);
        }
        if object.is_none() {
            visitor.visit_unit()
        } else if object.is_instance_of::<PyString>() {
            self.visit_text(visitor)
        } else if object.is_instance_of::<PyDict>() {
            self.deserialize_map(visitor)
        } else if object.is_instance_of::<PyList>() || object.is_instance_of::<PyTuple>() {
            self.deserialize_seq(visitor)
        } else if object.is_instance_of::<PyFloat>() {
            visitor.visit_f64(object.extract()?)
        } else if object.is_instance_of::<PyBool>() {
            visitor.visit_bool(object.extract()?)
        } else if object.is_instance_of::<PyInt>() {
            self.visit_int(visitor)
        } else {
            Err(self.unsupported("what JSON holds"))
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.object.is_none() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_text(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_text(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.object.is_exact_instance_of::<PyFloat>() {
            visitor.visit_f64(self.object.extract()?)
        } else {
            self.deserialize_any(visitor)
        }
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.object.is_exact_instance_of::<PyInt>() {
            visitor.visit_i64(self.object.extract()?)
        } else {
            self.deserialize_any(visitor)
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.enter()?;
        // Neither changes while read (no Python code runs), so their lengths hold.
        let (len, get_item): (usize, GetItem) = if let Some(list) = as_a::<PyList>(self.object) {
            (list.len(), pyo3::ffi::PyList_GetItem)
        } else if let Ok(tuple) = self.object.cast::<PyTuple>() {
            (tuple.len(), pyo3::ffi::PyTuple_GetItem)
        } else {
            return Err(self.unsupported("a list"));
        };
        visitor.visit_seq(Items {
            reader: &self,
            len,
            get_item,
            next: 0,
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.enter()?;
        let Some(dict) = as_a::<PyDict>(self.object) else {
            return Err(self.unsupported("a dict"));
        };
        visitor.visit_map(Entries {
            reader: &self,
            dict,
            position: 0,
            left: dict.len(),
            value: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i128 u8 u16 u32 u64 u128 f32 char bytes byte_buf unit unit_struct
        newtype_struct tuple tuple_struct enum identifier
    }
}

/// A list's or tuple's items, each borrowed from it in turn.
struct Items<'r, 'o, 'k, 'py> {
    reader: &'r Reader<'o, 'k, 'py>,
    len: usize,
    /// `PyList_GetItem` or `PyTuple_GetItem`, as the reader's object is.
    get_item: GetItem,
    next: usize,
}

impl<'de> SeqAccess<'de> for Items<'_, '_, '_, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.next >= self.len {
            return Ok(None);
        }
        let item = item(self.reader.object, self.next, self.get_item)?;
        self.next += 1;
        seed.deserialize(self.reader.at(item)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len.saturating_sub(self.next))
    }
}

struct Entries<'r, 'o, 'k, 'py> {
    reader: &'r Reader<'o, 'k, 'py>,
    dict: Borrowed<'o, 'py, PyDict>,
    /// `PyDict_Next`'s place in the dict.
    position: pyo3::ffi::Py_ssize_t,
    /// Entries not yet visited (an upper bound once keys are passed over).
    left: usize,
    value: Option<Borrowed<'o, 'py, PyAny>>,
}

impl<'de> MapAccess<'de> for Entries<'_, '_, '_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let keys = self.reader.keys;
        loop {
            let Some((key, value)) = dict_entry(self.dict, &mut self.position) else {
                return Ok(None);
            };
            self.left = self.left.saturating_sub(1);
            let Some(key) = as_a::<PyString>(key) else {
                return Err(Error("a dict key is not a str".into()));
            };
            let known = keys.known(key)?;
            if known.is_some_and(|k| keys.unread.contains(&k)) {
                continue;
            }
            self.value = Some(value);
            return seed.deserialize(KeyReader { key, known }).map(Some);
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| Error("a value was asked for before its key".into()))?;
        seed.deserialize(self.reader.at(value))
    }

    fn size_hint(&self) -> Option<usize> {
        // An upper bound when keys are passed over; serde takes it as a capacity hint only.
        Some(self.left)
    }
}

/// A dict's key: a known one as a `&'static str`, any other borrowed for the visitor to copy.
struct KeyReader<'o, 'py> {
    key: Borrowed<'o, 'py, PyString>,
    /// The known text of the key, matched once per key object.
    known: Option<&'static str>,
}

impl<'de> de::Deserializer<'de> for KeyReader<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.known {
            Some(known) => visitor.visit_borrowed_str(known),
            None => with_str(&self.key, |text| visitor.visit_str(text)),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}
