//! The one application error type at the edges: server functions, REST handlers and the browser
//! all see this and nothing else. Internal causes are logged on the server with a reference and
//! never sent (see `AppError::internal`).

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a failed sign-in says: never which of the two was wrong.
pub const WRONG_CREDENTIALS: &str = "Wrong username or password.";

/// Field name → messages, for forms to show next to the field.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// A failed sign-in: the message never says which of the two was wrong.
    #[error("{0}")]
    InvalidCredentials(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Please correct the marked fields.")]
    Validation(FieldErrors),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "Something went wrong on our side (reference {0}). Please try again; if it keeps happening, \
         give the reference to your platform team."
    )]
    Internal(String),
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut map = FieldErrors::new();
        map.insert(field.to_string(), vec![message.into()]);
        AppError::Validation(map)
    }

    pub fn forbidden(why: impl Into<String>) -> Self {
        AppError::Forbidden(why.into())
    }

    /// Messages for one field, for a form to show beside it.
    pub fn field_messages(&self, field: &str) -> Vec<String> {
        match self {
            AppError::Validation(map) => map.get(field).cloned().unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Logs the cause with a fresh reference and returns an error that shows only the reference.
    #[cfg(feature = "ssr")]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        tracing::error!(reference = %reference, error = %cause, "internal error");
        AppError::Internal(reference)
    }

    /// The machine-readable code of REST error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::InvalidCredentials(_) => "invalid_credentials",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Validation(_) => "validation",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::BadRequest(_) => "bad_request",
            AppError::Internal(_) => "internal",
        }
    }

    /// HTTP status for REST responses.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Validation(_) => 422,
            AppError::TooManyRequests(_) => 429,
            AppError::BadRequest(_) => 400,
            AppError::Internal(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Transport and decoding problems: the request itself was unusable.
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => {
                AppError::BadRequest(format!("The request could not be read: {m}"))
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => AppError::BadRequest(
                "The server could not be reached. Check your connection and try again.".into(),
            ),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}
