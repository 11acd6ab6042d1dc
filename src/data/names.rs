//! Column names: given (from a CSV header or `with_feature_names`) or the defaults `x1, x2, ...`
//! and `y1, y2, ...`.

use crate::{Error, Result};

/// The names of one side of a dataset (features or targets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names {
    list: Vec<String>,
    /// `false` for the defaults: defaults never contradict given names.
    given: bool,
}

impl Names {
    /// `prefix1, prefix2, ...`, `n` of them.
    pub(crate) fn defaults(prefix: &str, n: usize) -> Self {
        Self {
            list: (1..=n).map(|i| format!("{prefix}{i}")).collect(),
            given: false,
        }
    }

    /// Given names for `n` columns.
    ///
    /// # Errors
    /// [`Error::InvalidNames`] for a count other than `n`, an empty (or blank) name, or a name
    /// used twice.
    pub(crate) fn given(what: &str, list: Vec<String>, n: usize) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidNames {
            what: what.into(),
            reason,
        };
        if list.len() != n {
            return Err(invalid(format!(
                "{} names for {n} columns: {list:?}",
                list.len()
            )));
        }
        if let Some(i) = list.iter().position(|name| name.trim().is_empty()) {
            return Err(invalid(format!("column {} has an empty name", i + 1)));
        }
        for (i, name) in list.iter().enumerate() {
            if let Some(j) = list[i + 1..].iter().position(|other| other == name) {
                return Err(invalid(format!(
                    "columns {} and {} are both named {name:?}",
                    i + 1,
                    i + j + 2
                )));
            }
        }
        Ok(Self { list, given: true })
    }

    pub(crate) fn list(&self) -> &[String] {
        &self.list
    }

    pub(crate) fn is_given(&self) -> bool {
        self.given
    }

    /// Checks that a model fitted on columns named `self` may be applied to columns named
    /// `data`: the same names in the same order, unless either side has only the defaults.
    ///
    /// # Errors
    /// [`Error::NameMismatch`] listing both.
    pub(crate) fn check(&self, context: &str, what: &'static str, data: &Names) -> Result<()> {
        if !self.given || !data.given || self.list == data.list {
            return Ok(());
        }
        Err(Error::NameMismatch {
            context: context.into(),
            what,
            expected: self.list.clone(),
            found: data.list.clone(),
        })
    }
}
