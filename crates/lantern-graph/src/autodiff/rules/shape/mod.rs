//! Ops that move values without arithmetic: the gradient is moved back the same way.

pub(crate) mod concat;
pub(crate) mod depth_space;
pub(crate) mod gather;
pub(crate) mod pad;
pub(crate) mod reshape;
pub(crate) mod route;
pub(crate) mod slice;
pub(crate) mod split;
pub(crate) mod tile;
pub(crate) mod transpose;
