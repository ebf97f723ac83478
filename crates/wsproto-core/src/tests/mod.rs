//! Behaviour tests of the engine through an in-memory client/server [`pair::Pair`] with a
//! virtual clock, in both roles.

mod behaviour;
mod byte_stream;
mod extension;
mod lifecycle;
pub(crate) use crate::pair;
mod property;
mod violations;
