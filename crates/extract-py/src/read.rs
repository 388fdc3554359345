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
        object: object.clone(),
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
    fn known(&self, key: &Bound<'py, PyString>) -> Result<Option<&'static str>, Error> {
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
        let known = with_str(key, |text| {
            Ok(KNOWN_KEYS.iter().copied().find(|k| *k == text))
        })?;
        let mut held = self.held.borrow_mut();
        if let Some(at) = free
            && held.len() < KEY_CACHE
        {
            held.push(key.clone());
            slots[at] = Some((address, known));
        }
        Ok(known)
    }
}

/// One object being read.
struct Reader<'k, 'py> {
    object: Bound<'py, PyAny>,
    keys: &'k Keys<'py>,
    /// Containers around this object.
    depth: usize,
}

impl<'k, 'py> Reader<'k, 'py> {
    /// A reader for an item of this (container) object.
    fn at(&self, object: Bound<'py, PyAny>) -> Reader<'k, 'py> {
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

    /// Gives this `int` to `visitor`: as an `i64`, else a `u64` (a larger one is refused).
    fn visit_int<'de, V: Visitor<'de>>(&self, visitor: V) -> Result<V::Value, Error> {
        match self.object.extract::<i64>() {
            Ok(n) => visitor.visit_i64(n),
            Err(_) => visitor.visit_u64(self.object.extract()?),
        }
    }

    /// Gives this `str` to `visitor` borrowed: a `String` field copies it once, an enum
    /// matches it without a copy.
    fn visit_text<'de, V: Visitor<'de>>(&self, visitor: V) -> Result<V::Value, Error> {
        match as_a::<PyString>(&self.object) {
            Some(string) => with_str(string, |text| visitor.visit_str(text)),
            None => Err(self.unsupported("a str")),
        }
    }
}

/// `object` as a `T`: the exact type by comparing type pointers, a subclass by the type's flags
/// (a call into the interpreter under the stable ABI, so second).
fn as_a<'a, 'py, T: PyTypeInfo>(object: &'a Bound<'py, PyAny>) -> Option<&'a Bound<'py, T>> {
    object
        .cast_exact::<T>()
        .or_else(|_| object.cast::<T>())
        .ok()
}

/// Runs `f` on the UTF-8 text of `string`. The stable ABI of Python 3.9 has no way to borrow a
/// `str`'s UTF-8 (`PyUnicode_AsUTF8AndSize` came in 3.10): it is encoded into a `bytes`, which is
/// borrowed, rather than copied once more into a `String`.
fn with_str<T>(
    string: &Bound<'_, PyString>,
    f: impl FnOnce(&str) -> Result<T, Error>,
) -> Result<T, Error> {
    let bytes = string.encode_utf8()?;
    let text = std::str::from_utf8(bytes.as_bytes())
        .map_err(|_| Error("a str that is not valid Unicode".into()))?;
    f(text)
}

impl<'de> de::Deserializer<'de> for Reader<'_, '_> {
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
        if let Some(list) = as_a::<PyList>(&self.object) {
            return visitor.visit_seq(Items {
                reader: &self,
                list: Sequence::List(list.clone()),
                next: 0,
            });
        }
        if let Ok(tuple) = self.object.cast::<PyTuple>() {
            return visitor.visit_seq(Items {
                reader: &self,
                list: Sequence::Tuple(tuple.clone()),
                next: 0,
            });
        }
        Err(self.unsupported("a list"))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.enter()?;
        let Some(dict) = as_a::<PyDict>(&self.object) else {
            return Err(self.unsupported("a dict"));
        };
        // Walked in place: nothing runs Python code during a read (and the GIL is held), so
        // the dict cannot change under the iterator.
        visitor.visit_map(Entries {
            reader: &self,
            entries: dict.iter(),
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

enum Sequence<'py> {
    List(Bound<'py, PyList>),
    Tuple(Bound<'py, PyTuple>),
}

struct Items<'r, 'k, 'py> {
    reader: &'r Reader<'k, 'py>,
    list: Sequence<'py>,
    next: usize,
}

impl<'de> SeqAccess<'de> for Items<'_, '_, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let item = match &self.list {
            Sequence::List(list) if self.next < list.len() => list.get_item(self.next)?,
            Sequence::Tuple(tuple) if self.next < tuple.len() => tuple.get_item(self.next)?,
            _ => return Ok(None),
        };
        self.next += 1;
        seed.deserialize(self.reader.at(item)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        let len = match &self.list {
            Sequence::List(list) => list.len(),
            Sequence::Tuple(tuple) => tuple.len(),
        };
        Some(len.saturating_sub(self.next))
    }
}

struct Entries<'r, 'k, 'py> {
    reader: &'r Reader<'k, 'py>,
    entries: pyo3::types::iter::BoundDictIterator<'py>,
    value: Option<Bound<'py, PyAny>>,
}

impl<'de> MapAccess<'de> for Entries<'_, '_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let keys = self.reader.keys;
        loop {
            let Some((key, value)) = self.entries.next() else {
                return Ok(None);
            };
            let Ok(key) = key
                .cast_into_exact::<PyString>()
                .or_else(|e| e.into_inner().cast_into::<PyString>())
            else {
                return Err(Error("a dict key is not a str".into()));
            };
            let known = keys.known(&key)?;
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
        Some(ExactSizeIterator::len(&self.entries))
    }
}

/// A dict's key: a known one as a `&'static str`, any other borrowed for the visitor to copy.
struct KeyReader<'py> {
    key: Bound<'py, PyString>,
    /// The known text of the key, matched once per key object.
    known: Option<&'static str>,
}

impl<'de> de::Deserializer<'de> for KeyReader<'_> {
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
