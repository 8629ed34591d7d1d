//! The `confo` server: configuration, store start-up and the HTTP router, kept in a library so
//! that tests can drive the router without a socket.

pub mod anonymous;
pub mod audit;
pub mod client_address;
pub mod config;
pub mod demo;
pub mod downloads;
pub mod export;
pub mod import;
pub mod return_path;
pub mod routes;
pub mod same_origin;
pub mod security_headers;
pub mod serve;
pub mod store;
pub mod user;
