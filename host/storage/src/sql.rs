//! Writing SQL once for both dialects, and reading rows back.
//!
//! Static statements use `$N` placeholders, which SQLite accepts too. Dynamic
//! statements (multi-row `VALUES`, optional filters) go through
//! [`SqlBuilder`], which writes `?` for SQLite and `$N` for PostgreSQL; sqlx's
//! own `QueryBuilder` writes `?` for the `Any` driver, which PostgreSQL
//! refuses.

use std::fmt::Write as _;

use serde::de::DeserializeOwned;
use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::{Arguments, Encode, Executor, Row, Type};

use crate::{Backend, Result, StorageError};

/// Most rows one multi-row statement writes. With at most 17 columns a row
/// this stays far below SQLite's 32,766 and PostgreSQL's 65,535 parameters.
pub(crate) const ROWS_PER_STATEMENT: usize = 1000;

/// A statement assembled at run time, with the placeholders of its backend.
pub(crate) struct SqlBuilder<'q> {
    backend: Backend,
    sql: String,
    args: AnyArguments<'q>,
    bound: usize,
    encode_error: Option<BoxDynError>,
}

impl<'q> SqlBuilder<'q> {
    /// A statement for `backend` starting with `sql`.
    pub(crate) fn new(backend: Backend, sql: &str) -> Self {
        Self {
            backend,
            sql: sql.to_owned(),
            args: AnyArguments::default(),
            bound: 0,
            encode_error: None,
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub(crate) fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        self.bound += 1;
        match self.backend {
            // SQLite looks a named parameter up by a linear scan, which makes
            // binding thousands of `$N` quadratic; anonymous `?` are bound
            // by position.
            Backend::Sqlite => self.sql.push('?'),
            Backend::Postgres => {
                write!(self.sql, "${}", self.bound).expect("writing to a String cannot fail")
            }
        }
        if let Err(error) = self.args.add(value) {
            self.encode_error.get_or_insert(error);
        }
        self
    }

    /// Appends `VALUES (...), (...)`, one tuple per row, each filled by `bind_row`.
    pub(crate) fn values<R>(
        &mut self,
        rows: impl IntoIterator<Item = R>,
        mut bind_row: impl FnMut(&mut Tuple<'_, 'q>, R),
    ) -> &mut Self {
        self.sql.push_str(" VALUES ");
        for (index, row) in rows.into_iter().enumerate() {
            self.sql.push_str(if index == 0 { "(" } else { ", (" });
            bind_row(
                &mut Tuple {
                    builder: self,
                    empty: true,
                },
                row,
            );
            self.sql.push(')');
        }
        self
    }

    /// Appends placeholders for `values`, separated by commas.
    pub(crate) fn bind_list<T>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        for (index, value) in values.into_iter().enumerate() {
            if index > 0 {
                self.sql.push_str(", ");
            }
            self.bind(value);
        }
        self
    }

    /// Runs the statement; returns the number of rows it changed.
    pub(crate) async fn execute<'c>(
        self,
        executor: impl Executor<'c, Database = Any>,
    ) -> Result<u64> {
        let (sql, args) = self.finish()?;
        Ok(sqlx::query_with(&sql, args)
            .execute(executor)
            .await?
            .rows_affected())
    }

    /// Runs the statement; returns every row.
    pub(crate) async fn fetch_all<'c>(
        self,
        executor: impl Executor<'c, Database = Any>,
    ) -> Result<Vec<AnyRow>> {
        let (sql, args) = self.finish()?;
        Ok(sqlx::query_with(&sql, args).fetch_all(executor).await?)
    }

    /// Runs the statement; returns its first row, if any.
    pub(crate) async fn fetch_optional<'c>(
        self,
        executor: impl Executor<'c, Database = Any>,
    ) -> Result<Option<AnyRow>> {
        let (sql, args) = self.finish()?;
        Ok(sqlx::query_with(&sql, args)
            .fetch_optional(executor)
            .await?)
    }

    fn finish(self) -> Result<(String, AnyArguments<'q>)> {
        match self.encode_error {
            Some(error) => Err(StorageError::Database(sqlx::Error::Encode(error))),
            None => Ok((self.sql, self.args)),
        }
    }
}

/// One parenthesised tuple of a [`SqlBuilder::values`] list.
pub(crate) struct Tuple<'b, 'q> {
    builder: &'b mut SqlBuilder<'q>,
    empty: bool,
}

impl<'q> Tuple<'_, 'q> {
    /// Appends the next value of the tuple.
    pub(crate) fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        if !self.empty {
            self.builder.sql.push_str(", ");
        }
        self.empty = false;
        self.builder.bind(value);
        self
    }
}

/// A Rust enum stored as one of a fixed set of lower-case names.
pub(crate) trait StoredName: Sized {
    /// The variant named `name`.
    fn from_name(name: &str) -> Option<Self>;
}

/// Declares a public enum stored as text, with `as_str`, `parse` and `Display`.
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// The name stored in the database and shown by the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }

            /// The variant with the given name.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $( $text => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl $crate::sql::StoredName for $name {
            fn from_name(name: &str) -> Option<Self> {
                Self::parse(name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use stored_enum;

/// Reads a [`stored_enum!`] column.
pub(crate) fn stored<T: StoredName>(row: &AnyRow, column: &str) -> Result<T> {
    let name: String = row.try_get(column)?;
    T::from_name(&name)
        .ok_or_else(|| StorageError::corrupt(column, format!("unknown value {name:?}")))
}

/// Reads an integer column into a narrower type such as `u32`.
pub(crate) fn narrow<T>(row: &AnyRow, column: &str) -> Result<T>
where
    T: TryFrom<i64>,
    T::Error: std::fmt::Display,
{
    let value: i64 = row.try_get(column)?;
    T::try_from(value).map_err(|error| StorageError::corrupt(column, error))
}

/// Reads a nullable integer column into a narrower type such as `u32`.
pub(crate) fn optional_narrow<T>(row: &AnyRow, column: &str) -> Result<Option<T>>
where
    T: TryFrom<i64>,
    T::Error: std::fmt::Display,
{
    row.try_get::<Option<i64>, _>(column)?
        .map(|value| T::try_from(value).map_err(|error| StorageError::corrupt(column, error)))
        .transpose()
}

/// Reads a flag: `BOOLEAN` on PostgreSQL, a 0/1 integer on SQLite (whose
/// `BOOLEAN` the `Any` driver cannot decode).
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    match row.try_get::<bool, _>(column) {
        Ok(value) => Ok(value),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}

/// Reads a JSON text column; `owner` names the row in the error.
pub(crate) fn json<T: DeserializeOwned>(row: &AnyRow, column: &str, owner: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text)
        .map_err(|error| StorageError::corrupt(format!("{column} of {owner}"), error))
}

/// Reads an optional JSON text column; `owner` names the row in the error.
pub(crate) fn optional_json<T: DeserializeOwned>(
    row: &AnyRow,
    column: &str,
    owner: &str,
) -> Result<Option<T>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| {
        serde_json::from_str(&text)
            .map_err(|error| StorageError::corrupt(format!("{column} of {owner}"), error))
    })
    .transpose()
}

/// Serialises a value this crate defines to JSON text; these types cannot fail.
pub(crate) fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("string maps and lists always serialise")
}
