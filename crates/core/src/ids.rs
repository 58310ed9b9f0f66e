//! Dense id newtypes. A `UserId` can never be passed where an `ItemId` is expected.

use serde::{Deserialize, Serialize};

/// A dense id: an index `0..n` into a column, a matrix row or an [`crate::IdMap`].
pub trait DenseId: Copy + Eq + Ord + std::hash::Hash + std::fmt::Debug {
    /// The id with the given index.
    fn from_index(index: u32) -> Self;
    /// The index this id stands for.
    fn index(self) -> u32;
    /// What the id names, for messages ("user", "item", "category").
    const KIND: &'static str;
}

macro_rules! dense_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl DenseId for $name {
            fn from_index(index: u32) -> Self {
                Self(index)
            }
            fn index(self) -> u32 {
                self.0
            }
            const KIND: &'static str = $kind;
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}#{}", $kind, self.0)
            }
        }
    };
}

dense_id!(
    /// A user (shopper), dense over the users of one event log.
    UserId,
    "user"
);
dense_id!(
    /// An item (product), dense over the items of one event log.
    ItemId,
    "item"
);
dense_id!(
    /// An item category, dense over the categories of one event log.
    CategoryId,
    "category"
);
dense_id!(
    /// A session named by the input (a session column), dense in order of first appearance.
    SessionId,
    "session"
);
